"""Strict serializer fields shared by the apps' APIs."""

from __future__ import annotations

from drf_spectacular.drainage import set_override
from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer: no booleans, floats or numeric strings."""

    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class BoundedIntegerField(StrictIntegerField):
    """A JSON integer whose bounds a domain check enforces (answering 400 ``refusal_code``): the OpenAPI schema
    documents ``minimum``/``maximum`` without the serializer changing which error the API answers. (Set in
    ``__init__``: DRF re-creates declared fields from their arguments for every serializer instance.)"""

    def __init__(self, *, documented_min: int, documented_max: int, refusal_code: str, **kwargs: object) -> None:
        suffix = f"{documented_min} to {documented_max}; outside: 400 `{refusal_code}`."
        help_text = kwargs.pop("help_text", None)
        kwargs["help_text"] = f"{help_text} {suffix}" if help_text else suffix
        super().__init__(**kwargs)
        set_override(self, "field", {"type": "integer", "minimum": documented_min, "maximum": documented_max})


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string (DRF would otherwise turn numbers into text)."""

    default_error_messages = {"invalid": "A JSON string is required."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
