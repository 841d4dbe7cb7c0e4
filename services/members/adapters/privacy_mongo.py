"""Personal-information requests in MongoDB: everything stored about a member as JSON, and
the erasure as one update (the use case is service/privacy.py).

The erasure's update empties the person's fields, makes the phone a placeholder that stays
unique (the tenant's phone index keeps working) and embeds member_erased. Its filter holds the
tenant and "not erased yet", so of two requests at once (two replicas) exactly one erases and
announces it; it bumps `_v`, so a versioned writer that read the member before (a merge)
judges it again as erased.
"""

from __future__ import annotations

import json
from typing import Any

from bson import json_util
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import VERSION, Document, find_for_tenant
from services.members.adapters import events
from services.members.adapters.mongo import CONSENT_CHANGES, MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES, PURCHASES
from services.members.domain.privacy import Erasure

ERASED_FIELDS = (
    "name",
    "surname",
    "notes",
    "card_no",
    "gender",
    "tags",
    "birthday",
    "preferred_channel",
    "openid",
    "unionid",
)


def _public(doc: Document) -> Document:
    """Bookkeeping fields (outbox, applied markers) are not the member's data."""
    return {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}


class MongoPrivacy:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._db = db
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out

    async def export(self, tenant_id: str, member_id: str) -> str | None:
        member = await find_for_tenant(self._members, tenant_id, member_id)
        if member is None:
            return None
        mine = {"tenant_id": tenant_id, "member_id": member_id}
        data: dict[str, Any] = {
            "member": _public(member),
            "purchases": [_public(d) for d in await self._db[PURCHASES].find(mine).to_list()],
            "points_entries": await self._db[POINTS_ENTRIES].find(mine).to_list(),
            "consent_changes": await self._db[CONSENT_CHANGES].find(mine).to_list(),
        }
        return json.dumps(
            json.loads(json_util.dumps(data, json_options=json_util.RELAXED_JSON_OPTIONS)),
            ensure_ascii=False,
            indent=1,
        )

    async def erase(self, tenant_id: str, erasure: Erasure) -> bool | None:
        member_id = erasure.member_id
        erased = events.member_erased(tenant_id, erasure)
        done = await self._members.find_one_and_update(
            {"_id": member_id, "tenant_id": tenant_id, "erased": {"$exists": False}},
            {
                "$set": {
                    "erased": True,
                    "erased_at": erasure.at,
                    "erasure_reason": erasure.reason,
                    "phone": f"erased:{member_id}",
                    "consent": erasure.consent,
                }
                | outbox.embed_set(self._topic, erased),
                "$unset": dict.fromkeys(ERASED_FIELDS, ""),
                "$inc": {VERSION: 1},
            },
        )
        if done is not None:
            self._outbox.wake()
            return True
        return False if await find_for_tenant(self._members, tenant_id, member_id, {"_id": 1}) else None
