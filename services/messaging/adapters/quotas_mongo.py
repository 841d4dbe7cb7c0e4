"""WeChat subscribe-message quotas in MongoDB: one document per (tenant, member, WeChat template)
(`_id` = "<tenant>:<member>:<template>"), holding the sends still allowed, the openid to send to,
the grant ids counted and the message ids that used a send.

Each change is one atomic write whose conditions are in the filter, so no race can count a grant
twice or spend one acceptance on two messages:
- a grant is an upsert whose filter says the grant id is not yet counted; `$inc` remaining. When
  it is counted the filter misses, the upsert's insert meets the `_id` and fails as a duplicate:
  then the document is read, and a grant found there was counted before. A duplicate without the
  grant means a concurrent first grant created the document: the upsert is simply made again.
- a take is a `find_one_and_update` only while some send remains and this message has not used
  one; `$inc` -1 and the message id recorded. When it misses, the document is read: a message
  that already used a send gets the same openid again (a retried send spends nothing more).

The id lists are kept to the last `KEPT_IDS` entries (`$push` with `$slice`, in the same write):
a grant or a retry of a message is repeated within minutes, while that many grants or sends of
one template to one member take months.
"""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis.errors import InvalidArgument
from chassis.mongo import Document, retry_busy

QUOTAS = "wechat_quotas"
KEPT_IDS = 200
_UPSERT_ATTEMPTS = 5
INDEXES = {
    # Point reads and writes go by `_id`; this one finds a member's documents to erase them.
    QUOTAS: [IndexModel([("tenant_id", ASCENDING), ("member_id", ASCENDING)], name="member_quotas")],
}


def quota_id(tenant_id: str, member_id: str, provider_template_id: str) -> str:
    """ "<tenant>:<member>:<template>", each part with '%' and ':' escaped, so no two keys meet."""
    parts = (tenant_id, member_id, provider_template_id)
    return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in parts)


class MongoWechatQuotas:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._quotas: AsyncCollection[Document] = db[QUOTAS]

    async def grant(
        self, tenant_id: str, member_id: str, provider_template_id: str, openid: str, grant_id: str
    ) -> int:
        for name, value in (
            ("member_id", member_id),
            ("provider_template_id", provider_template_id),
            ("openid", openid),
            ("grant_id", grant_id),
        ):
            if not value:
                raise InvalidArgument(name, "is required")
        doc_id = quota_id(tenant_id, member_id, provider_template_id)
        for _ in range(_UPSERT_ATTEMPTS):
            try:
                after = await retry_busy(
                    lambda: self._quotas.find_one_and_update(
                        {"_id": doc_id, "tenant_id": tenant_id, "grants": {"$ne": grant_id}},
                        {
                            "$inc": {"remaining": 1},
                            "$push": {"grants": _kept(grant_id)},
                            "$set": {"openid": openid},
                            "$setOnInsert": {
                                "member_id": member_id,
                                "provider_template_id": provider_template_id,
                            },
                        },
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                )
            except DuplicateKeyError:
                doc = await self._read(tenant_id, doc_id)
                if doc is not None and grant_id in doc.get("grants", []):
                    return int(doc.get("remaining", 0))
                continue  # another first grant created the document meanwhile: count this one now
            if after is None:  # an upsert always has a document after it; said for the types
                raise AssertionError("upsert returned no document")
            return int(after["remaining"])
        raise AssertionError("a grant's upsert kept meeting a document it could not see")

    async def take(
        self, tenant_id: str, member_id: str, provider_template_id: str, message_id: str
    ) -> str | None:
        doc_id = quota_id(tenant_id, member_id, provider_template_id)
        after = await retry_busy(
            lambda: self._quotas.find_one_and_update(
                {
                    "_id": doc_id,
                    "tenant_id": tenant_id,
                    "remaining": {"$gt": 0},
                    "used_by": {"$ne": message_id},
                },
                {"$inc": {"remaining": -1}, "$push": {"used_by": _kept(message_id)}},
                return_document=ReturnDocument.AFTER,
            )
        )
        if after is not None:
            return str(after["openid"])
        doc = await self._read(tenant_id, doc_id)
        if doc is not None and message_id in doc.get("used_by", []):
            return str(doc["openid"])
        return None

    async def remaining(self, tenant_id: str, member_id: str, provider_template_id: str) -> int:
        doc = await self._read(tenant_id, quota_id(tenant_id, member_id, provider_template_id))
        return int(doc.get("remaining", 0)) if doc is not None else 0

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        """Delete the member's quotas (they hold the openid): an erasure request."""
        await retry_busy(lambda: self._quotas.delete_many({"tenant_id": tenant_id, "member_id": member_id}))

    async def _read(self, tenant_id: str, doc_id: str) -> Document | None:
        return await self._quotas.find_one({"_id": doc_id, "tenant_id": tenant_id})


def _kept(entry: str) -> Document:
    """A `$push` of one id that keeps the list to its last KEPT_IDS entries."""
    return {"$each": [entry], "$slice": -KEPT_IDS}
