"""RFC 9457 problem+json for every error, and the one gRPC-status -> HTTP mapping.

Bad input names the offending field; a stack trace never leaves the process.
"""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from google.rpc import error_details_pb2, status_pb2
from starlette.exceptions import HTTPException as StarletteHTTPException

from chassis import logs

log = logs.get(__name__)

PROBLEM_JSON = "application/problem+json"

# gRPC status -> (HTTP status, problem type slug, title)
GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid-argument", "Invalid argument"),
    grpc.StatusCode.NOT_FOUND: (404, "not-found", "Not found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "conflict", "Already exists"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "conflict", "Not allowed in the current state"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "limit-reached", "Limit reached"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated", "Unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "forbidden", "Forbidden"),
    grpc.StatusCode.UNAVAILABLE: (503, "service-unavailable", "Service unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "timeout", "Service timed out"),
}


class Problem(Exception):
    """Raise from a route to answer with problem+json."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.field = field
        self.headers = headers or {}


def problem_response(p: Problem, request: Request, extra: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{p.slug}",
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        "instance": request.url.path,
    }
    if p.field:
        body["field"] = p.field
    body.update(extra or {})
    return JSONResponse(body, status_code=p.status, headers=p.headers, media_type=PROBLEM_JSON)


def from_grpc(err: grpc.aio.AioRpcError) -> Problem:
    """The problem for a failed RPC (raised by `clients.calls.Calls`, through which every RPC goes)."""
    code = err.code()
    status, slug, title = GRPC_TO_HTTP.get(code, (502, "upstream-error", "Upstream error"))
    field = _violated_field(err)
    headers = {"Retry-After": "1"} if status == 503 else None
    detail = err.details() or title
    if status == 502 or status >= 503:
        detail = f"{title}: please retry later"  # upstream internals stay internal
    return Problem(status, slug, title, detail, field=field, headers=headers)


def _violated_field(err: grpc.aio.AioRpcError) -> str | None:
    raw = next((v for k, v in err.trailing_metadata() or () if k == "grpc-status-details-bin"), None)
    if not isinstance(raw, bytes):
        return None
    for detail in status_pb2.Status.FromString(raw).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            if bad.field_violations:
                return str(bad.field_violations[0].field)
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(e["loc"]), "detail": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "detail": "invalid request"}
        problem = Problem(
            422,
            "validation-error",
            "Invalid request",
            f"{first['field']}: {first['detail']}",
            field=first["field"],
        )
        return problem_response(problem, request, {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthenticated"}.get(
            exc.status_code, "http-error"
        )
        problem = Problem(
            exc.status_code, slug, str(exc.detail), str(exc.detail), headers=dict(exc.headers or {})
        )
        return problem_response(problem, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            Problem(500, "internal-error", "Internal error", "Something went wrong on our side"),
            request,
        )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"
