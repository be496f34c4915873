"""The few typed errors every connector maps HTTP outcomes to. Each one says what to do next."""

from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """Base class. Messages never contain credentials."""


class RateLimited(ConnectorError):
    """The platform's quota is spent: wait until ``reset_at`` (UTC), then try again."""

    def __init__(self, message: str, *, reset_at: datetime | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class Retryable(ConnectorError):
    """A transient failure (5xx, timeout, connection error, unparseable body): safe to retry."""


class Rejected(ConnectorError):
    """The platform refused the request (4xx other than 429): retrying will not help."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class OutcomeUnknown(ConnectorError):
    """A write may or may not have happened: reconcile with the platform before retrying."""


RETRYABLE_ERRORS: tuple[type[ConnectorError], ...] = (RateLimited, Retryable)
