"""Request dependencies: who is calling, for which tenant, with which scopes, at what rate, in
which store; and the service clients, bound to the request (its id and trace go with each call).

No `from __future__ import annotations` here: FastAPI reads these annotations at run time,
and some refer to closure variables.

Routes declare what they need with the `Annotated` aliases at the bottom; nothing else in a
route deals with authentication.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.apikeys import ApiKeyStore
from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.channels import ServiceClients
from gateway.clients.coupons import CouponsClient
from gateway.clients.engagement import EngagementClient
from gateway.clients.feedback import FeedbackClient
from gateway.clients.members import MembersClient
from gateway.clients.messaging import MessagingClient
from gateway.clients.surveys import SurveysClient
from gateway.errors import Problem
from gateway.identity import SCOPES, Caller
from gateway.member_tokens import MemberTokens
from gateway.ratelimit import TokenBuckets
from gateway.settings import GatewaySettings

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`rg_…`) of a store app, partner or tool, or a member session token",
)


class Authenticator:
    """Turns a bearer credential into a Caller and applies the caller's rate limit."""

    def __init__(self, settings: GatewaySettings, keys: ApiKeyStore, tokens: MemberTokens) -> None:
        self.keys = keys
        self.tokens = tokens
        self._static = {
            key: Caller(
                tenant_id=tenant,
                kind="api_key",
                subject="static-" + hashlib.sha256(key.encode()).hexdigest()[:12],
                scopes=frozenset(SCOPES),
            )
            for key, tenant in settings.gateway_api_keys.items()
        }
        self._key_buckets = TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        self._member_buckets = TokenBuckets(
            settings.member_rate_limit_per_second, settings.member_rate_limit_burst
        )

    async def authenticate(self, credential: str) -> Caller | None:
        if credential in self._static:
            return self._static[credential]
        caller = await self.keys.authenticate(credential)
        return caller if caller is not None else self.tokens.verify(credential)

    def rate_limit(self, caller: Caller) -> dict[str, str]:
        """The `RateLimit-*` headers for this request, or a 429 when the caller's bucket is empty."""
        buckets = self._member_buckets if caller.kind == "member" else self._key_buckets
        decision = buckets.take(f"{caller.tenant_id}/{caller.subject}")
        if not decision.allowed:
            raise Problem(
                429,
                "rate-limited",
                "Too many requests",
                f"rate limit reached; retry in {decision.retry_after_seconds} s",
                headers=decision.headers(),
            )
        return decision.headers()


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, "unauthenticated", "Unauthenticated", detail, headers={"WWW-Authenticate": "Bearer"})


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise _unauthenticated("Authorization: Bearer <api key or member token> is required")
    auth: Authenticator = request.app.state.auth
    caller = await auth.authenticate(credentials.credentials)
    if caller is None:
        raise _unauthenticated("the API key or token is not valid, expired or revoked")
    # On every answer from here on, problems included (RequestContextMiddleware adds them).
    request.state.rate_limit_headers = auth.rate_limit(caller)
    request.state.caller = caller
    return caller


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers that hold `scope`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")

    async def dependency(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
        if scope not in caller.scopes:
            raise Problem(403, "forbidden", "Forbidden", f"this credential lacks the scope {scope}")
        return caller

    return dependency


def require_for(*, member: str, others: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting a member session holding `member` and any other caller holding
    `others` (a member writes in its own thread with one scope, the shop with another)."""
    if member not in SCOPES or others not in SCOPES:
        raise ValueError(f"unknown scope {member} or {others}")

    async def dependency(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
        scope = member if caller.kind == "member" else others
        if scope not in caller.scopes:
            raise Problem(403, "forbidden", "Forbidden", f"this credential lacks the scope {scope}")
        return caller

    return dependency


async def _clients(request: Request) -> ServiceClients:  # async: no worker-thread hop per request
    clients: ServiceClients = request.app.state.clients
    return clients


def _members_of(request: Request) -> MembersClient:
    clients: ServiceClients = request.app.state.clients
    return clients.members.for_request(request)


async def _members(request: Request) -> MembersClient:
    return _members_of(request)


async def _coupons(request: Request) -> CouponsClient:
    clients: ServiceClients = request.app.state.clients
    return clients.coupons.for_request(request)


async def _messaging(request: Request) -> MessagingClient:
    clients: ServiceClients = request.app.state.clients
    return clients.messaging.for_request(request)


async def _feedback(request: Request) -> FeedbackClient:
    client: FeedbackClient = request.app.state.feedback  # on the channel ServiceClients opened
    return client.for_request(request)


Side = TypeVar("Side", bound=ServiceClient[Any])


def side_client(request: Request, name: str, service: str, make: Callable[[Any, Calls], Side]) -> Side:
    """A client beside the main ones (`make`, usually a client class's `over`), made once per app
    on the channel ServiceClients opened to `service` (again when those clients are replaced),
    and bound to the request."""
    state = request.app.state
    clients: ServiceClients = state.clients
    made: tuple[ServiceClients, Side] | None = getattr(state, name, None)
    if made is None or made[0] is not clients:
        settings: GatewaySettings = state.settings
        made = (clients, make(clients.channels[service], Calls(timeout=settings.grpc_timeout_seconds)))
        setattr(state, name, made)
    return made[1].for_request(request)


async def _surveys(request: Request) -> SurveysClient:
    return side_client(request, "surveys", "feedback", SurveysClient.over)


async def _engagement(request: Request) -> EngagementClient:
    return side_client(request, "engagement", "messaging", EngagementClient.over)


MembersDep = Annotated[MembersClient, Depends(_members)]
CouponsDep = Annotated[CouponsClient, Depends(_coupons)]
MessagingDep = Annotated[MessagingClient, Depends(_messaging)]
FeedbackDep = Annotated[FeedbackClient, Depends(_feedback)]  # reviews, cases, evidence, the policy
SurveysDep = Annotated[SurveysClient, Depends(_surveys)]  # surveys, questions and suggestions
EngagementDep = Annotated[EngagementClient, Depends(_engagement)]  # tracked links, messaging's reports


def _member_id_for(scope: str, *, must_exist: bool = False) -> Callable[..., Awaitable[tuple[Caller, str]]]:
    """The `{member_id}` path parameter, checked against what a session may see (and, with
    `must_exist`, that an API key names a member of its tenant)."""

    async def dependency(
        request: Request,
        member_id: Annotated[str, Path(min_length=1, max_length=64, description="Member id")],
        caller: Annotated[Caller, Depends(require(scope))],
    ) -> tuple[Caller, str]:
        # The members client from the request, not as a dependency of its own: one fewer for
        # FastAPI to solve on every claim.
        await ensure_may_see_member(_members_of(request), caller, member_id, must_exist=must_exist)
        return caller, member_id

    return dependency


async def ensure_may_see_member(
    members: MembersClient, caller: Caller, member_id: str, *, must_exist: bool = False
) -> None:
    """404 unless the caller may act for `member_id`: a member session for itself, a staff
    session for the members it looks after (read from the members service), an API key for any
    member id, or with `must_exist` only for a member of its tenant (for routes whose service
    would otherwise accept an unknown id, e.g. a coupon wallet, a claim or a cart check)."""
    # Not 403: a session must not learn whether another member id exists.
    hidden = Problem(404, "not-found", "Not found", f"member {member_id} not found")
    if not caller.may_act_for(member_id):
        raise hidden
    if caller.kind == "staff" or (must_exist and caller.kind == "api_key"):
        member = await members.get(caller.tenant_id, member_id)
        if not caller.may_see_member(member.owner_staff_id or "", member.home_store_id):
            raise hidden


class _NamesAStore(Protocol):
    store_id: str


AtStore = TypeVar("AtStore", bound=_NamesAStore)


def in_callers_store(model: type[AtStore]) -> Any:
    """`Depends` for a request body naming the store it acts in (`store_id`): the body, with
    `store_id` the store sent, else the credential's; a credential restricted to a store (a
    till's key, a staff session) may act only there (403 naming `store_id`)."""

    async def dependency(
        body: model,  # type: ignore[valid-type]  # a class chosen per route; FastAPI reads it at run time
        caller: Annotated[Caller, Depends(_caller)],
    ) -> AtStore:
        checked: AtStore = body
        store = checked.store_id or caller.store_id or ""
        if caller.store_id and store != caller.store_id:
            raise Problem(
                403,
                "forbidden",
                "Forbidden",
                f"this credential is restricted to store {caller.store_id}",
                field="store_id",
            )
        checked.store_id = store
        return checked

    return Depends(dependency)


ClientsDep = Annotated[ServiceClients, Depends(_clients)]
ReadMembers = Annotated[Caller, Depends(require("members:read"))]
WriteMembers = Annotated[Caller, Depends(require("members:write"))]
OpenSessions = Annotated[Caller, Depends(require("sessions:member"))]
OpenStaffSessions = Annotated[Caller, Depends(require("sessions:staff"))]
AdminKeys = Annotated[Caller, Depends(require("keys:admin"))]
ReadDirectory = Annotated[Caller, Depends(require("directory:read"))]
WritePurchases = Annotated[Caller, Depends(require("purchases:write"))]
ReadSegments = Annotated[Caller, Depends(require("segments:read"))]
WriteSegments = Annotated[Caller, Depends(require("segments:write"))]
WriteDirectory = Annotated[Caller, Depends(require("directory:write"))]
ReadMember = Annotated[tuple[Caller, str], Depends(_member_id_for("members:read"))]
ManageMember = Annotated[tuple[Caller, str], Depends(_member_id_for("members:write"))]
WriteConsent = Annotated[tuple[Caller, str], Depends(_member_id_for("members:consent"))]
PointsMember = Annotated[tuple[Caller, str], Depends(_member_id_for("points:write"))]
PrivacyMember = Annotated[tuple[Caller, str], Depends(_member_id_for("members:privacy"))]
WriteConsentKey = Annotated[Caller, Depends(require("members:consent"))]
# A member of the caller's tenant (404 otherwise) whose consent the caller may record.
ConsentingMember = Annotated[tuple[Caller, str], Depends(_member_id_for("members:consent", must_exist=True))]
AdminCoupons = Annotated[Caller, Depends(require("coupons:admin"))]
IssueCoupons = Annotated[Caller, Depends(require("coupons:issue"))]
RedeemCoupons = Annotated[Caller, Depends(require("coupons:redeem"))]
ReadCoupons = Annotated[Caller, Depends(require("coupons:read"))]
WalletMember = Annotated[tuple[Caller, str], Depends(_member_id_for("coupons:read", must_exist=True))]
ClaimingMember = Annotated[tuple[Caller, str], Depends(_member_id_for("coupons:claim", must_exist=True))]
# A claim: coupons itself answers 404 for a member of no tenant it knows (its projection of
# members, else the members service), so the flash-sale path makes no members call here.
Claimant = Annotated[tuple[Caller, str], Depends(_member_id_for("coupons:claim"))]
# Feedback: reviews, cases, surveys, threads (routers/cases.py says who may see what).
ReadFeedback = Annotated[Caller, Depends(require("feedback:read"))]
WriteFeedback = Annotated[Caller, Depends(require("feedback:write"))]
HandleCases = Annotated[Caller, Depends(require("cases:handle"))]
ManageCases = Annotated[Caller, Depends(require("cases:manage"))]
