"""HTTP plumbing shared by every app and owned by none: the error base class and the one exception handler, strict
serializer fields, permissions, throttling, URL converters and the read-only admin. ``core`` imports no app."""
