"""Strict serializer fields shared by the apps' APIs."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT64)
class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer: no booleans, floats or numeric strings."""

    default_error_messages = {"invalid": "A JSON integer is required."}

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string (DRF would otherwise turn numbers into text)."""

    default_error_messages = {"invalid": "A JSON string is required."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
