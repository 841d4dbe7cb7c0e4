"""CORS for mini-program web views, configured per API key (`cors_origins`).

A preflight carries no credential, so it is allowed when any live key lists the origin;
the real request is then answered with CORS headers only if the key it used lists it.
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders

from gateway.identity import Caller

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, traceparent, X-Request-Id"
EXPOSED_HEADERS = (
    "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id, traceparent"
)


async def preflight(request: Request, origin: str) -> Response:
    response = Response(status_code=204, headers={"Vary": "Origin"})
    if await request.app.state.auth.keys.allows_origin(origin):
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            }
        )
    return response


def allow_if_listed(request: Request, headers: MutableHeaders, origin: str) -> None:
    """CORS headers on a response, when the key the request used lists the origin."""
    caller: Caller | None = getattr(request.state, "caller", None)
    headers.append("Vary", "Origin")
    if caller is not None and origin in caller.cors_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
