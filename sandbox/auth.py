"""``Authorization: Worker <token>`` authentication for sandbox worker hosts (agents use ``Bearer``)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from core.authentication import TokenHeaderAuthentication
from economy.services import hash_token
from sandbox.models import WorkerToken


class WorkerTokenAuthentication(TokenHeaderAuthentication):
    keyword = "Worker"

    def authenticate_token(self, raw: str) -> tuple[WorkerToken, WorkerToken]:
        token = WorkerToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked worker token.")
        return token, token


class IsWorker(BasePermission):
    """The caller authenticated with a worker token."""

    message = "This endpoint is for sandbox workers (Authorization: Worker <worker token>)."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, WorkerToken)


class WorkerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sandbox.auth.WorkerTokenAuthentication"
    name = "workerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Worker <token>` (manage.py create_worker_token).",
        }
