"""Who is calling: an API client (store app, partner, internal tool) or a member session.

Every caller is bound to exactly one tenant; routes ask for scopes, and a member session
may only act for its own member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCOPES: dict[str, str] = {
    "members:read": "Read members and their inbox",
    "members:write": "Enrol members, change profiles, blacklist",
    "members:consent": "Change members' consent; report SMS replies",
    "members:privacy": "Export or erase a member's personal data",
    "sessions:member": "Open member sessions for a mini-program",
    "sessions:staff": "Open staff sessions for the shop assistants' app",
    "directory:read": "Read stores, staff and handovers",
    "purchases:write": "Record purchases from the till",
    "points:write": "Grant or take points: sign-ins, reviews, gifts, manual adjustments",
    "segments:read": "Preview segments of members",
    "segments:write": "Save segments",
    "directory:write": "Create stores, add staff, hand a leaving assistant's members over",
    "keys:admin": "Create, list and revoke the tenant's API keys",
    "coupons:admin": "Manage coupon templates, automatic rules and issue jobs; read coupon reports",
    "coupons:issue": "Give one member a coupon, or a compensation coupon for a complaint",
    "coupons:redeem": "Check a cart's coupons, lock, redeem and release coupons at the till",
    "coupons:read": "Read members' coupon wallets and coupons by code",
    "coupons:claim": "Claim and share coupons for a member",
    "programme:admin": (
        "Read and change the tenant's loyalty programme: tiers, earning, expiry, earning rules"
    ),
    "feedback:write": "Post reviews and answer for members; open cases",
    "feedback:read": "Read reviews and cases",
    "cases:handle": "Handle complaint cases: acknowledge, start, resolve, close, reject; reply to reviews",
    "cases:manage": "Decide on risky cases, export evidence, set the feedback policy",
    "messages:send": "Send a member a message; read messages and their delivery; report delivery receipts",
    "messages:admin": "Manage message templates and the messaging policy; read messaging reports",
    "tasks:work": "Read and complete staff tasks (a staff session: the signed-in assistant's own)",
    "tasks:manage": "Read a store's staff tasks and each assistant's on-time rate",
}
MEMBER_SESSION_SCOPES = frozenset(
    {"members:read", "members:consent", "coupons:read", "coupons:claim", "feedback:write", "feedback:read"}
)
STAFF_SESSION_SCOPES = frozenset(
    {
        "members:read",
        "members:write",
        "members:consent",
        "purchases:write",
        "directory:read",
        "coupons:read",
        "coupons:issue",
        "coupons:redeem",
        "feedback:read",
        "cases:handle",
        "tasks:work",
        "tasks:manage",
    }
)


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    kind: Literal["api_key", "member", "staff"]
    subject: str  # the API key id, the member id of a member session, the staff id of a staff session
    scopes: frozenset[str]
    store_id: str | None = None
    cors_origins: tuple[str, ...] = ()
    role: str = ""  # of a staff session: "assistant" or "manager"

    @property
    def member_id(self) -> str | None:
        return self.subject if self.kind == "member" else None

    def may_act_for(self, member_id: str) -> bool:
        """API clients act for any member of their tenant; a member session only for itself.

        Staff sessions need the member's owner and store, so the gateway checks them with
        `may_see_member` once it has read the member.
        """
        return self.kind != "member" or self.subject == member_id

    def may_see_member(self, owner_staff_id: str, home_store_id: str) -> bool:
        """An assistant sees the members they look after; a manager their store's members."""
        if self.kind != "staff":
            return True
        if self.role == "manager":
            return home_store_id == self.store_id
        return owner_staff_id == self.subject
