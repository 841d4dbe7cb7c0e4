"""Domain errors that know nothing of gRPC or HTTP.

The gRPC edge (chassis.grpc_server) maps them to status codes in one place, and the
gateway maps those codes to problem+json, so a rule deep in a service can say
"this field is wrong" and the person at the till reads exactly that.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The input is wrong; `field` names the offending request field (e.g. "phone")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    """The thing asked for does not exist in the caller's tenant."""


class AlreadyExists(DomainError):
    """Creating would duplicate something that must be unique."""


class FailedPrecondition(DomainError):
    """The request is valid but the current state does not allow it."""


class ResourceExhausted(DomainError):
    """A limit was reached (stock, quota, rate)."""


class Unavailable(DomainError):
    """Nothing was changed, and the same request may succeed shortly (contention, a busy store)."""
