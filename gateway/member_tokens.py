"""Short-lived signed member session tokens (JWT, HS256) for partner mini-programs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from gateway.identity import MEMBER_SESSION_SCOPES, Caller

ISSUER = "regulars-gateway"
AUDIENCE = "regulars-member"


class MemberTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = timedelta(seconds=ttl_seconds)

    def issue(self, tenant_id: str, member_id: str) -> tuple[str, datetime]:
        expires = datetime.now(UTC) + self._ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": member_id,
            "tid": tenant_id,
            "exp": expires,
            "iat": datetime.now(UTC),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires

    def verify(self, token: str) -> Caller | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            return None
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not tenant:
            return None
        return Caller(
            tenant_id=tenant, kind="member", subject=str(claims["sub"]), scopes=MEMBER_SESSION_SCOPES
        )
