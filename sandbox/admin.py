import base64
import binascii

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from sandbox.models import Execution, WorkerToken, Workspace


def _pre(text: str):
    return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', text)


def _preformatted(field: str):
    """A read-only admin field showing the execution's ``field`` as preformatted text."""

    @admin.display(description=field)
    def show(model_admin, obj: Execution):
        return _pre(getattr(obj, field))

    return show


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "agent", "status", "worker", "attempts", "exit_code", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["status", "worker"]
    list_select_related = ["agent"]
    search_fields = ["agent__name", "worker"]
    exclude = ["stdout", "stderr", "artifact", "error"]
    readonly_fields = ["stdout_log", "stderr_log", "artifact_text", "error_text"]

    stdout_log = _preformatted("stdout")
    stderr_log = _preformatted("stderr")
    artifact_text = _preformatted("artifact")
    error_text = _preformatted("error")


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ["agent", "size_bytes", "file_count", "updated_at"]
    list_select_related = ["agent"]
    exclude = ["files"]
    readonly_fields = ["program", "file_sizes"]

    @admin.display(description="files")
    def file_count(self, obj: Workspace) -> int:
        return len(obj.files)

    @admin.display(description="agent.py")
    def program(self, obj: Workspace):
        try:
            code = base64.b64decode(obj.files.get("agent.py", "")).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            code = "(unreadable)"
        return _pre(code)

    @admin.display(description="sizes")
    def file_sizes(self, obj: Workspace):
        rows = ((name, len(value) * 3 // 4) for name, value in sorted(obj.files.items()))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} (~{} bytes)</li>", rows))


@admin.register(WorkerToken)
class WorkerTokenAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "created_at", "revoked_at"]
    exclude = ["key_hash"]
