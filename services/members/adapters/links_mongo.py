"""Ways to reach a member other than the phone: WeChat openids and members' referral codes.

Each is a document keyed `_id = "<tenant>:<key>"`: uniqueness within a tenant is the unique
`_id`, which FerretDB enforces reliably (and looks up by index), so two simultaneous sign-ups
with one openid, or two members drawing the same code, cannot both win. What the member
document records of them is written with a condition (`openid` / `referral_code` not yet
set), so two replicas doing it at once agree on one value without any lock.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters.mongo import MEMBERS

OPENIDS = "member_openids"
REFERRAL_CODES = "referral_codes"
# Crockford's base32 without I, L, O, U: readable aloud, hard to mistype.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 8  # 40 bits: guessing a live code is hopeless, typing one is easy


def _key(tenant_id: str, value: str) -> str:
    return f"{tenant_id}:{value}"


def new_referral_code() -> str:
    return "R" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH - 1))


class MongoMemberLinks:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._openids = db[OPENIDS]
        self._codes = db[REFERRAL_CODES]
        self._members = db[MEMBERS]

    async def member_for_openid(self, tenant_id: str, openid: str) -> str | None:
        doc = await self._openids.find_one({"_id": _key(tenant_id, openid)})
        return doc["member_id"] if doc else None

    async def claim_openid(self, tenant_id: str, openid: str, unionid: str, member_id: str) -> str:
        """Link the openid to `member_id` unless it is linked already; the linked member's id."""
        doc = {
            "_id": _key(tenant_id, openid),
            "tenant_id": tenant_id,
            "member_id": member_id,
            "unionid": unionid,
            "at": datetime.now(UTC),
        }
        if await insert_once(self._openids, doc):
            return member_id
        return await self.member_for_openid(tenant_id, openid) or member_id

    async def relink_openid(self, tenant_id: str, openid: str, from_member: str, to_member: str) -> None:
        """Point the openid at another member (the same person enrolled by phone before)."""
        await self._openids.update_one(
            {"_id": _key(tenant_id, openid), "member_id": from_member}, {"$set": {"member_id": to_member}}
        )
        await self._members.update_one(
            {"_id": to_member, "tenant_id": tenant_id, "openid": {"$exists": False}},
            {"$set": {"openid": openid}},
        )

    async def member_for_referral_code(self, tenant_id: str, code: str) -> str | None:
        doc = await self._codes.find_one({"_id": _key(tenant_id, code)})
        return doc["member_id"] if doc else None

    async def referral_code(self, tenant_id: str, member_id: str) -> str | None:
        """The member's code, drawn and stored on first request; None when there is no such member.

        Two first requests at once (two replicas) may both draw a code; only one is stored on the
        member (conditional update), and the loser's code document is removed before anyone saw
        it, so the member has one code and every caller gets that one.
        """
        member = await find_for_tenant(self._members, tenant_id, member_id, {"referral_code": 1})
        if member is None:
            return None
        if code := member.get("referral_code"):
            return str(code)
        while True:
            code = new_referral_code()
            if await insert_once(
                self._codes,
                {"_id": _key(tenant_id, code), "tenant_id": tenant_id, "member_id": member_id},
            ):
                break
        won = await self._members.update_one(
            {"_id": member_id, "tenant_id": tenant_id, "referral_code": {"$exists": False}},
            {"$set": {"referral_code": code}},
        )
        if won.matched_count:
            return code
        await self._codes.delete_one({"_id": _key(tenant_id, code), "member_id": member_id})
        member = await find_for_tenant(self._members, tenant_id, member_id, {"referral_code": 1})
        stored = (member or {}).get("referral_code")
        return str(stored) if stored else None
