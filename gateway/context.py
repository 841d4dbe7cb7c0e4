"""Per-request context, as plain ASGI middleware: request id, trace context, rate limits, CORS.

Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs the
app in a task of its own and streams the response through memory channels, which measured a
quarter of the gateway's CPU under the claim and purchase benchmarks. Here the headers are
added to the response's start message on its way out, in the request's own task.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

from chassis import tracing
from gateway import cors

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class RequestContextMiddleware:
    """Request id and W3C trace context (accepted, generated if absent, echoed, forwarded),
    the caller's `RateLimit-*` headers on every answer (an error's too: exception handlers build
    responses of their own), and CORS for the web origins each API key allows."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        origin = request.headers.get("origin")
        if origin and request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            await (await cors.preflight(request, origin))(scope, receive, send)
            return
        rid = request.headers.get("x-request-id", "")[:64] or str(ULID())
        trace = request.headers.get("traceparent", "")
        traceparent = trace if _TRACEPARENT.match(trace) else ""
        request.state.request_id = rid  # scope state: the routers' Request sees it too
        request.state.traceparent = traceparent
        tracing.bind(rid, traceparent)  # this request's log lines carry both

        async def send_with_context(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                if traceparent:
                    headers["traceparent"] = traceparent
                for name, value in getattr(request.state, "rate_limit_headers", {}).items():
                    headers.setdefault(name, value)
                if origin:
                    cors.allow_if_listed(request, headers, origin)
            await send(message)

        await self.app(scope, receive, send_with_context)
