"""Tracked links: `GET /r/{token}` is what a member taps in an SMS, a WeChat message or the
inbox. No credential (a phone's browser has none): the token alone names the link, and it
cannot be guessed or forged (messaging signs it), so the redirect only ever goes where one of
the tenant's messages pointed. Messaging records the tap (the message's first announces
message_clicked) and answers the url.

A token of the wrong shape is a 404 like an unknown one, answered here without a call. Taps
are rate-limited per peer address (the per-key limits' rate and burst, per gateway replica),
since no credential carries a bucket; behind a proxy the peer is the proxy, so size the
limits for it.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse

from gateway.deps import EngagementDep
from gateway.errors import Problem
from gateway.ratelimit import TokenBuckets
from gateway.schemas.problems import responses
from gateway.settings import GatewaySettings

router = APIRouter(tags=["messaging"])

TOKEN = re.compile(r"[a-z2-7]{16}")  # messaging's tokens: 16 characters of lowercase base32
USER_AGENT_MAX = 512
Token = Annotated[str, Path(description="The token of the tracked link", examples=["k5v2mzq7d3hx4w6a"])]


def _rate_limit(request: Request) -> None:
    """A bucket per peer address, made once per app with the per-key rate and burst."""
    state = request.app.state
    buckets: TokenBuckets | None = getattr(state, "link_buckets", None)
    if buckets is None:
        settings: GatewaySettings = state.settings
        buckets = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        state.link_buckets = buckets
    decision = buckets.take(request.client.host if request.client else "")
    request.state.rate_limit_headers = decision.headers()
    if not decision.allowed:
        raise Problem(
            429,
            "rate-limited",
            "Too many requests",
            f"rate limit reached; retry in {decision.retry_after_seconds} s",
            headers=decision.headers(),
        )


_RESPONSES = responses(404, 429, 503) | {302: {"description": "To the link's destination (`Location`)"}}
_RESPONSES[404] = _RESPONSES[404] | {"description": "No such link"}


@router.get(
    "/r/{token}",
    summary="Follow a tracked link",
    description=(
        "The short link in a message: redirects (302) to where the message pointed and records the tap "
        "for the messaging report and attribution (a member's purchase or claimed coupon within the "
        "tenant's attribution window goes to the message they tapped last). No authentication. "
        "An unknown token is a 404."
    ),
    response_class=RedirectResponse,
    status_code=302,
    responses=_RESPONSES,
)
async def follow_link(token: Token, request: Request, engagement: EngagementDep) -> RedirectResponse:
    _rate_limit(request)
    if not TOKEN.fullmatch(token):
        raise Problem(404, "not-found", "Not found", "no such link")
    url = await engagement.resolve(token, request.headers.get("user-agent", "")[:USER_AGENT_MAX])
    # Not cached, so every tap reaches us; the destination learns nothing of the token.
    return RedirectResponse(
        url, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
