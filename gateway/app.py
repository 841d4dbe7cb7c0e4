"""The FastAPI application: routers, problem+json errors, request ids, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from ulid import ULID

from chassis import logs
from chassis.settings import load
from gateway import errors
from gateway.clients.channels import ServiceClients
from gateway.routers import health, members
from gateway.settings import GatewaySettings

DESCRIPTION = """
Regulars turns one-time shoppers into regulars. This API is for store apps (POS and the
shop assistants' app), partner mini-programs and internal tools.

Authenticate with `Authorization: Bearer <api key>`; every request acts within the key's
tenant. Errors are `application/problem+json` (RFC 9457) and name the offending `field`.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or load(GatewaySettings)
    logs.configure("gateway", settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = ServiceClients.open(settings)
        yield
        await app.state.clients.close()

    app = FastAPI(title="Regulars API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    errors.install(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id", "")[:64] or str(ULID())
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-Id"] = rid
        return response

    app.include_router(health.router)
    app.include_router(members.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
