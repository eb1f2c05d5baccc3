"""The one error type of the domain. Services raise it; the API and pages turn it into a 4xx."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    """Too much asked at once: answered 429 with ``Retry-After: retry_after`` seconds."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
        self.retry_after = retry_after


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, *, current_version: int) -> None:
        super().__init__(
            f"This story was changed by someone else (now at version {current_version}); reload and try again.",
            field="version",
            current_version=current_version,
        )
