"""Who is calling: an API client (store app, partner, internal tool) or a member session.

Every caller is bound to exactly one tenant; routes ask for scopes, and a member session
may only act for its own member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCOPES: dict[str, str] = {
    "members:read": "Read members and their inbox",
    "members:write": "Enrol members",
    "sessions:member": "Open member sessions for a mini-program",
    "directory:read": "Read stores, staff and handovers",
    "purchases:write": "Record purchases from the till",
    "directory:write": "Create stores, add staff, hand a leaving assistant's members over",
    "keys:admin": "Create, list and revoke the tenant's API keys",
}
MEMBER_SESSION_SCOPES = frozenset({"members:read"})


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    kind: Literal["api_key", "member"]
    subject: str  # the API key id, or the member id of a member session
    scopes: frozenset[str]
    store_id: str | None = None
    cors_origins: tuple[str, ...] = ()

    @property
    def member_id(self) -> str | None:
        return self.subject if self.kind == "member" else None

    def may_act_for(self, member_id: str) -> bool:
        """API clients act for any member of their tenant; a member session only for itself."""
        return self.kind != "member" or self.subject == member_id
