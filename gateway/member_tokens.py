"""Short-lived signed session tokens (JWT, HS256): member sessions for partner mini-programs,
staff sessions for the shop assistants' app.

The audience tells the two apart, so a member token can never pass as a staff token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from gateway.identity import MEMBER_SESSION_SCOPES, STAFF_SESSION_SCOPES, Caller

ISSUER = "regulars-gateway"
AUDIENCE = "regulars-member"
STAFF_AUDIENCE = "regulars-staff"


class MemberTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = timedelta(seconds=ttl_seconds)

    def _encode(self, audience: str, subject: str, tenant_id: str, **extra: str) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires = now + self._ttl
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": subject,
            "tid": tenant_id,
            "exp": expires,
            "iat": now,
            **extra,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires

    def issue(self, tenant_id: str, member_id: str) -> tuple[str, datetime]:
        return self._encode(AUDIENCE, member_id, tenant_id)

    def issue_staff(self, tenant_id: str, staff_id: str, role: str, store_code: str) -> tuple[str, datetime]:
        """A token for one assistant (their own members) or manager (their store's members)."""
        return self._encode(STAFF_AUDIENCE, staff_id, tenant_id, role=role, store=store_code)

    def verify(self, token: str) -> Caller | None:
        for audience in (AUDIENCE, STAFF_AUDIENCE):
            try:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=audience,
                    issuer=ISSUER,
                    options={"require": ["exp", "sub", "aud", "iss"]},
                )
            except jwt.InvalidAudienceError:
                continue
            except jwt.PyJWTError:
                return None
            tenant = claims.get("tid")
            if not isinstance(tenant, str) or not tenant:
                return None
            if audience == AUDIENCE:
                return Caller(
                    tenant_id=tenant, kind="member", subject=str(claims["sub"]), scopes=MEMBER_SESSION_SCOPES
                )
            role = claims.get("role")
            if role not in ("assistant", "manager") or not isinstance(claims.get("store"), str):
                return None
            return Caller(
                tenant_id=tenant,
                kind="staff",
                subject=str(claims["sub"]),
                scopes=STAFF_SESSION_SCOPES,
                store_id=claims["store"],
                role=role,
            )
        return None
