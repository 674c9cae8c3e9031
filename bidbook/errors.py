"""Errors of a price controller's staff edits (both markets)."""

from core.errors import DomainError


class NotEditable(DomainError, code="not_editable"):
    default_detail = "Only the controller's editable fields can be changed."


class InvalidControllerSettings(DomainError, code="invalid_controller_settings"):
    default_detail = "The price must lie within 0 < floor <= price <= ceiling; target and smoothing within (0, 1]."
