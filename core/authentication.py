"""``Authorization: <keyword> <token>`` header parsing, shared by the apps' token authentications."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request


class TokenHeaderAuthentication(authentication.BaseAuthentication):
    """Reads ``Authorization: <keyword> <token>``; a subclass looks the raw token up in ``authenticate_token``.

    Another keyword (or no header) is not ours: None, so the next authentication class may try.
    """

    keyword = ""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f"Invalid Authorization header: expected '{self.keyword} <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        return self.authenticate_token(raw)

    def authenticate_token(self, raw: str) -> tuple[Any, Any]:
        raise NotImplementedError

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
