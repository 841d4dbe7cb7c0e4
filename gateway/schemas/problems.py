"""The problem+json body (RFC 9457), for the OpenAPI description of error responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemOut(BaseModel):
    type: str = Field(description="Stable identifier of the kind of problem, e.g. /problems/invalid-argument")
    title: str
    status: int
    detail: str = Field(description="What went wrong, for a person")
    instance: str
    field: str | None = Field(default=None, description="The request field at fault, if any")
    errors: list[dict[str, Any]] | None = None


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    described = {
        400: "Invalid input; `field` names it",
        401: "Missing, unknown, expired or revoked credential",
        403: "The credential lacks the scope this route needs",
        404: "Not found in your tenant",
        409: "Conflicts with the current state",
        422: "The request body or parameters do not match the schema; `field` names it",
        429: "Rate limit reached; retry after `Retry-After` seconds",
        503: "A service behind the gateway is unavailable; retry after `Retry-After`",
    }
    return {
        s: {
            "model": ProblemOut,
            "description": described.get(s, "Error"),
            "content": {"application/problem+json": {}},
        }
        for s in statuses
    }
