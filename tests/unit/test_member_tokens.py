import jwt
import pytest

from gateway.member_tokens import MemberTokens

SECRET = "x" * 40


def test_a_token_acts_for_its_member_in_its_tenant_only() -> None:
    tokens = MemberTokens(SECRET, ttl_seconds=900)
    token, _ = tokens.issue("tenant-a", "m1")
    caller = tokens.verify(token)
    assert caller is not None
    assert (caller.tenant_id, caller.member_id, caller.kind) == ("tenant-a", "m1", "member")
    assert caller.may_act_for("m1")
    assert not caller.may_act_for("m2")
    assert "members:write" not in caller.scopes


@pytest.mark.parametrize("mutate", ["wrong secret", "tampered", "expired", "garbage"])
def test_forged_tampered_or_expired_tokens_are_refused(mutate: str) -> None:
    tokens = MemberTokens(SECRET, ttl_seconds=900)
    token, _ = tokens.issue("tenant-a", "m1")
    if mutate == "wrong secret":
        token, _ = MemberTokens("y" * 40, ttl_seconds=900).issue("tenant-a", "m1")
    elif mutate == "tampered":
        claims = jwt.decode(token, options={"verify_signature": False})
        claims["sub"] = "m2"
        token = jwt.encode(claims, "z" * 40, algorithm="HS256")
    elif mutate == "expired":
        token = jwt.encode(
            {"iss": "regulars-gateway", "aud": "regulars-member", "sub": "m1", "tid": "tenant-a", "exp": 1},
            SECRET,
            algorithm="HS256",
        )
    else:
        token = "not.a.token"
    assert tokens.verify(token) is None
