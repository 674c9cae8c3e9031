"""``Authorization: Worker <token>`` authentication for sandbox worker hosts (agents use ``Bearer``)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from economy.services import hash_token
from sandbox.models import WorkerToken


class WorkerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Worker"

    def authenticate(self, request: Request) -> tuple[WorkerToken, WorkerToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Worker <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        token = WorkerToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked worker token.")
        return token, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


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
