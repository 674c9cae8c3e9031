"""The sandbox's HTTP API: worker endpoints (worker token) and agent endpoints (agent token)."""

from __future__ import annotations

from dataclasses import asdict

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import ReadView, WriteView, validated
from core.fields import StrictCharField, StrictIntegerField
from core.permissions import IsAgent
from economy.auth import AgentTokenAuthentication
from sandbox import selectors, services
from sandbox.auth import IsWorker, WorkerTokenAuthentication
from sandbox.models import Execution

# --- serializers ------------------------------------------------------------------------------------------------


class LogTextField(StrictCharField):
    """Program output may contain NUL characters: accepted here and replaced by the service (PostgreSQL text
    cannot hold them), rather than refusing the whole result."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, required=False, default="", **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class ExecutionSpecOutputSerializer(serializers.Serializer):
    execution_id = serializers.IntegerField()
    agent_id = serializers.IntegerField()
    attempt = serializers.IntegerField(help_text="This claim's number; the heartbeat and the result must carry it.")
    token = serializers.CharField(help_text="Agent token valid for this execution only (BP_TOKEN in the sandbox).")
    cpu_millicores = serializers.IntegerField()
    memory_mb = serializers.IntegerField()
    wall_seconds = serializers.IntegerField()
    files = serializers.DictField(child=serializers.CharField(), help_text="The workspace: path -> base64 content.")
    image = serializers.CharField()
    pids_limit = serializers.IntegerField()
    log_cap = serializers.IntegerField()
    workspace_max_bytes = serializers.IntegerField()
    lease_seconds = serializers.IntegerField()
    workspace_max_files = serializers.IntegerField()
    max_result_bytes = serializers.IntegerField(help_text="The largest result body the API accepts.")
    seed = serializers.IntegerField(
        help_text="The program's seed (BP_SEED): derived from the economy's seed and the execution id."
    )


class ExecutionLeaseInputSerializer(serializers.Serializer):
    attempt = StrictIntegerField(min_value=1)
    run_ended = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The agent's run is over and its result follows: the compute was delivered, so the execution is "
        "not refunded if the result never arrives.",
    )


class ExecutionLeaseOutputSerializer(serializers.Serializer):
    execution_id = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()


class ExecutionResultInputSerializer(serializers.Serializer):
    attempt = StrictIntegerField(min_value=1)
    status = serializers.ChoiceField(choices=[str(s) for s in services.WORKER_STATUSES])
    exit_code = StrictIntegerField(allow_null=True, required=False, default=None)
    stdout = LogTextField()
    stderr = LogTextField()
    stdout_truncated = serializers.BooleanField(required=False, default=False)
    stderr_truncated = serializers.BooleanField(required=False, default=False)
    image = StrictCharField(allow_blank=True, required=False, default="")
    error = LogTextField()
    files = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        allow_null=True,
        required=False,
        default=None,
        help_text="The workspace after the run (path -> base64), or null when none was returned.",
    )
    workspace_too_large = serializers.BooleanField(required=False, default=False)


class ExecutionOutputSerializer(serializers.ModelSerializer):
    bid_id = serializers.IntegerField()

    class Meta:
        model = Execution
        fields = [
            "id", "agent_id", "bid_id", "status", "cpu_millicores", "memory_mb", "wall_seconds", "attempts",
            "exit_code", "stdout", "stderr", "stdout_truncated", "stderr_truncated", "error", "workspace_outcome",
            "artifact", "artifact_submitted_at", "image", "refunded", "created_at", "started_at", "finished_at",
        ]  # fmt: skip


class WorkerHeartbeatInputSerializer(serializers.Serializer):
    name = StrictCharField(
        max_length=100,
        required=False,
        help_text="Optional; if given it must be the token's own name (a worker reports only for its own host).",
    )
    cpu_millicores = StrictIntegerField(
        min_value=0, max_value=10**9, help_text="Within MARKET_WORKER_MIN/MAX_CPU_MILLICORES (else invalid_capacity)."
    )
    memory_mb = StrictIntegerField(
        min_value=0, max_value=10**9, help_text="Within MARKET_WORKER_MIN/MAX_MEMORY_MB (else invalid_capacity)."
    )


class WorkerMeOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The token's name: the host this worker reports for (BP_WORKER_NAME).")


class WorkerHeartbeatOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    cpu_millicores = serializers.IntegerField()
    memory_mb = serializers.IntegerField()
    last_seen = serializers.DateTimeField()


class ArtifactInputSerializer(serializers.Serializer):
    text = StrictCharField(allow_blank=True, trim_whitespace=False)


class ArtifactOutputSerializer(serializers.Serializer):
    execution_id = serializers.IntegerField(source="id")
    chars = serializers.SerializerMethodField()
    artifact_submitted_at = serializers.DateTimeField()

    def get_chars(self, execution: Execution) -> int:
        return len(execution.artifact)


# --- worker endpoints -------------------------------------------------------------------------------------------


class WorkerView(GenericAPIView):
    # Agent tokens authenticate too, so that an agent is told 403 (not for agents) rather than 401.
    authentication_classes = [WorkerTokenAuthentication, AgentTokenAuthentication]
    permission_classes = [IsWorker]


class ExecutionClaimView(WorkerView):
    serializer_class = ExecutionSpecOutputSerializer

    @extend_schema(operation_id="sandbox_execution_claim", request=None, responses=ExecutionSpecOutputSerializer)
    def post(self, request: Request, execution_id: int) -> Response:
        spec = services.claim_execution(execution_id=execution_id, worker=request.user)
        return Response(ExecutionSpecOutputSerializer(asdict(spec)).data)


class ExecutionHeartbeatView(WorkerView):
    serializer_class = ExecutionLeaseInputSerializer

    @extend_schema(
        operation_id="sandbox_execution_heartbeat",
        request=ExecutionLeaseInputSerializer,
        responses=ExecutionLeaseOutputSerializer,
    )
    def post(self, request: Request, execution_id: int) -> Response:
        data = validated(ExecutionLeaseInputSerializer, request)
        expires = services.renew_execution_lease(
            execution_id=execution_id, worker=request.user, attempt=data["attempt"], run_ended=data["run_ended"]
        )
        data = {"execution_id": execution_id, "lease_expires_at": expires}
        return Response(ExecutionLeaseOutputSerializer(data).data)


class ExecutionResultView(WorkerView):
    serializer_class = ExecutionResultInputSerializer

    @extend_schema(
        operation_id="sandbox_execution_result",
        request=ExecutionResultInputSerializer,
        responses={201: ExecutionOutputSerializer},
    )
    def post(self, request: Request, execution_id: int) -> Response:
        data = dict(validated(ExecutionResultInputSerializer, request))
        attempt = data.pop("attempt")
        encoded = data.pop("files")
        outcome = services.ExecutionOutcome(**data, files=None if encoded is None else services.decode_files(encoded))
        execution = services.record_execution_result(
            execution_id=execution_id, worker=request.user, attempt=attempt, outcome=outcome
        )
        return Response(ExecutionOutputSerializer(execution).data, status=status.HTTP_201_CREATED)


class WorkerHeartbeatView(WorkerView):
    serializer_class = WorkerHeartbeatInputSerializer

    @extend_schema(
        operation_id="sandbox_worker_heartbeat",
        request=WorkerHeartbeatInputSerializer,
        responses=WorkerHeartbeatOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        data = validated(WorkerHeartbeatInputSerializer, request)
        host = services.report_worker_capacity(
            worker=request.user,
            name=data.get("name"),
            cpu_millicores=data["cpu_millicores"],
            memory_mb=data["memory_mb"],
        )
        return Response(WorkerHeartbeatOutputSerializer(host).data)


class WorkerMeView(WorkerView):
    serializer_class = WorkerMeOutputSerializer

    @extend_schema(operation_id="sandbox_worker_me", responses=WorkerMeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(WorkerMeOutputSerializer({"name": request.user.name}).data)


# --- agent endpoints --------------------------------------------------------------------------------------------


class ArtifactView(WriteView):
    serializer_class = ArtifactInputSerializer

    @extend_schema(
        operation_id="sandbox_artifact_submit", request=ArtifactInputSerializer, responses=ArtifactOutputSerializer
    )
    def post(self, request: Request) -> Response:
        text = validated(ArtifactInputSerializer, request)["text"]
        execution = services.submit_artifact(token=request.auth, text=text)
        return Response(ArtifactOutputSerializer(execution).data)


class ExecutionsView(ReadView):
    permission_classes = [IsAgent]
    serializer_class = ExecutionOutputSerializer

    @extend_schema(operation_id="sandbox_executions_list", responses=ExecutionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(selectors.agent_executions(agent_id=request.user.id))


class ExecutionDetailView(ReadView):
    permission_classes = [IsAgent]
    serializer_class = ExecutionOutputSerializer

    @extend_schema(operation_id="sandbox_executions_retrieve", responses=ExecutionOutputSerializer)
    def get(self, request: Request, execution_id: int) -> Response:
        execution = selectors.agent_execution(agent_id=request.user.id, execution_id=execution_id)
        return Response(ExecutionOutputSerializer(execution).data)
