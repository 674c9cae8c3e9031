from django.urls import path

from sandbox import api

urlpatterns = [
    path("sandbox/executions", api.ExecutionsView.as_view(), name="sandbox-executions"),
    path("sandbox/executions/<id:execution_id>", api.ExecutionDetailView.as_view(), name="sandbox-execution"),
    path(
        "sandbox/executions/<id:execution_id>/claim", api.ExecutionClaimView.as_view(), name="sandbox-execution-claim"
    ),
    path(
        "sandbox/executions/<id:execution_id>/heartbeat",
        api.ExecutionHeartbeatView.as_view(),
        name="sandbox-execution-heartbeat",
    ),
    path(
        "sandbox/executions/<id:execution_id>/result",
        api.ExecutionResultView.as_view(),
        name="sandbox-execution-result",
    ),
    path("sandbox/workers/heartbeat", api.WorkerHeartbeatView.as_view(), name="sandbox-worker-heartbeat"),
    path("sandbox/workers/me", api.WorkerMeView.as_view(), name="sandbox-worker-me"),
    path("sandbox/artifact", api.ArtifactView.as_view(), name="sandbox-artifact"),
]
