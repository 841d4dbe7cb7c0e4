"""Reviews in MongoDB: one document per review (`_id` = the review's id), its review_posted
embedded in the very insert that stores it (outbox).

An insert is once per id — the `_id` index decides which of two attempts stored it, and the
loser reads and returns the stored review, its event never written again. A save is one
update conditional on the version read (`{_id, tenant_id, version}` in the filter), and sets
the review's fields only, so events the relay has not sent yet stay in the document. Every
query names the tenant.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.errors import Unavailable
from chassis.mongo import Document, find_for_tenant, retry_busy
from services.feedback.adapters import events
from services.feedback.adapters.documents import (
    REVIEW_FIGURES_PROJECTION,
    review_doc,
    review_figures_from,
    review_from,
)
from services.feedback.domain.events import ReviewPosted
from services.feedback.domain.reports import ReviewFigures
from services.feedback.domain.reviews import RatingClass, Review

REVIEWS = "reviews"
BAD_RATING_MAX = 2
INDEXES = {
    REVIEWS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("posted_at", DESCENDING)],
            name="store_reviews",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("posted_at", DESCENDING)],
            name="member_reviews",
        ),
        IndexModel([("tenant_id", ASCENDING), ("posted_at", ASCENDING)], name="tenant_reviews_posted"),
    ],
}
OUTBOX_COLLECTIONS = [REVIEWS]


class MongoReviews:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._reviews = db[REVIEWS]
        self._topic = topic
        self._outbox = out

    async def insert(self, review: Review, fact: ReviewPosted) -> tuple[Review, bool]:
        """Stored with review_posted in one insert; the review stored first when the id is taken."""
        doc = review_doc(review) | outbox.embed(self._topic, *events.envelopes([fact]))
        try:
            await retry_busy(lambda: self._reviews.insert_one(doc))
        except DuplicateKeyError:
            stored = await find_for_tenant(self._reviews, review.tenant_id, review.id)
            if stored is None:  # the id is another tenant's: ids are derived with the tenant
                raise Unavailable(f"review id {review.id} is taken; try again") from None
            return review_from(stored), False
        self._outbox.wake()
        return review, True

    async def get(self, tenant_id: str, review_id: str) -> Review | None:
        doc = await find_for_tenant(self._reviews, tenant_id, review_id)
        return review_from(doc) if doc else None

    async def save(self, review: Review, expected_version: int) -> bool:
        fields = review_doc(review)
        del fields["_id"]
        result = await retry_busy(
            lambda: self._reviews.update_one(
                {"_id": review.id, "tenant_id": review.tenant_id, "version": expected_version},
                {"$set": fields},
            )
        )
        return result.matched_count == 1

    async def find(
        self, tenant_id: str, store_id: str, member_id: str, rating_class: RatingClass | None, limit: int
    ) -> list[Review]:
        query: Document = {"tenant_id": tenant_id}
        if store_id:
            query["store_id"] = store_id
        if member_id:
            query["member_id"] = member_id
        if rating_class is not None:
            query["rating_class"] = rating_class.value
        found = self._reviews.find(query).sort([("posted_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [review_from(d) async for d in found]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Review]:
        found = self._reviews.find({"tenant_id": tenant_id, "member_id": member_id}).sort(
            [("posted_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [review_from(d) async for d in found]

    async def bad_since(self, tenant_id: str, member_id: str, since: datetime) -> list[Review]:
        found = self._reviews.find(
            {
                "tenant_id": tenant_id,
                "member_id": member_id,
                "posted_at": {"$gte": since},
                "rating": {"$lte": BAD_RATING_MAX},
            }
        ).sort([("posted_at", ASCENDING), ("_id", ASCENDING)])
        return [review_from(d) async for d in found]

    async def posted_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[ReviewFigures]:
        """For reports: the tenant's reviews posted in [start, end), their store, time and
        ratings only, on `tenant_reviews_posted` (or `store_reviews` for one store)."""
        query: Document = {"tenant_id": tenant_id, "posted_at": {"$gte": start, "$lt": end}}
        if store_id:
            query["store_id"] = store_id
        found = self._reviews.find(query, REVIEW_FIGURES_PROJECTION).limit(limit)
        return [review_figures_from(d) async for d in found]
