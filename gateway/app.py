"""The FastAPI application: routers, problem+json errors, identities, idempotency, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chassis import logs, mongo
from chassis.settings import load
from gateway import errors
from gateway.apikeys import ApiKeyStore
from gateway.body_limit import BodyLimitMiddleware
from gateway.clients.calls import Calls
from gateway.clients.channels import ServiceClients
from gateway.clients.feedback import FeedbackClient
from gateway.context import RequestContextMiddleware
from gateway.deps import Authenticator
from gateway.idempotency import IdempotencyMiddleware
from gateway.member_tokens import MemberTokens
from gateway.routers import (
    api_keys,
    cases,
    coupon_automation,
    coupon_templates,
    coupon_till,
    coupon_wallet,
    directory,
    feedback_reports,
    health,
    links,
    members,
    message_templates,
    messages,
    messaging_reports,
    privacy,
    profile,
    programme,
    purchases,
    reviews,
    segments,
    sessions,
    staff_tasks,
    surveys,
    threads,
)
from gateway.settings import GatewaySettings

DESCRIPTION = """
Regulars turns one-time shoppers into regulars. This API is for store apps (POS and the
shop assistants' app), partner mini-programs and internal tools.

**Authentication.** `Authorization: Bearer <credential>`, where the credential is an API key
(`rg_…`, created with `python -m gateway.admin create-key` or `POST /v1/api-keys`) or a member
session token from `POST /v1/sessions/member`. Every request acts within the credential's
tenant; routes name the scope they need.

**Errors** are `application/problem+json` (RFC 9457) with a stable `type` and the offending
`field`. **Retries**: send `Idempotency-Key` on POSTs. **Rate limits**: `RateLimit-*` headers;
429 with `Retry-After`. **Size**: a request body over 1 MiB (by default) is refused with 413.
**Tracing**: `X-Request-Id` and W3C `traceparent` are echoed.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or load(GatewaySettings)
    logs.configure("gateway", settings.log_level)
    client = mongo.connect(settings.mongodb_url)
    db = client[settings.database_name]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = ServiceClients.open(settings)
        # On the channel ServiceClients opened to feedback (settings.feedback_grpc_addr).
        app.state.feedback = FeedbackClient.over(
            app.state.clients.channels["feedback"], Calls(timeout=settings.grpc_timeout_seconds)
        )
        yield
        await app.state.clients.close()
        await client.close()

    app = FastAPI(title="Regulars API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.auth = Authenticator(
        settings,
        ApiKeyStore(db, settings.api_key_cache_seconds),
        MemberTokens(settings.gateway_token_secret, settings.member_token_ttl_seconds),
    )
    errors.install(app)
    app.add_middleware(IdempotencyMiddleware, db=db, ttl=timedelta(hours=settings.idempotency_ttl_hours))
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes
    )  # before any body is read

    app.add_middleware(RequestContextMiddleware)  # outermost: ids and CORS on every answer

    app.include_router(health.router)
    app.include_router(members.router)
    app.include_router(sessions.router)
    app.include_router(api_keys.router)
    app.include_router(directory.router)
    app.include_router(purchases.router)
    app.include_router(segments.router)
    app.include_router(profile.router)
    app.include_router(privacy.router)
    app.include_router(programme.router)
    app.include_router(feedback_reports.router)
    for coupons in (coupon_templates, coupon_automation, coupon_wallet, coupon_till):
        app.include_router(coupons.router)
    app.include_router(reviews.router)
    app.include_router(cases.router)
    app.include_router(surveys.router)
    app.include_router(threads.router)
    app.include_router(messages.router)
    app.include_router(message_templates.router)
    app.include_router(staff_tasks.router)
    app.include_router(messaging_reports.router)
    app.include_router(links.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
