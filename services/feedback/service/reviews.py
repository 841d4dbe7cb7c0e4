"""Review use cases: post, read, list, the shop's reply, the member's amendment.

A post is idempotent on (tenant, member, request_id): the review's id is derived from them
(keys.review_key) and the repository's insert-once decides which attempt created it; a retry
gets the first review with created = False. It is written with its review_posted in one write.
A review that opens a case (a bad one, or a medium one when the policy says so; decided at
the post, domain.opening.opens_case) carries that case's id, and the post then opens it through
CaseOpening.open_for_review — which the consumer of review_posted calls too, so the case exists
even if the post dies right after its write, and is one case however often either runs.

A reply and an amendment are each one write guarded by the review's version (read again and
decided again if another change got there first). Amending opens no case: an unhappy member
can open one directly, and a case already open stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from chassis import fields
from chassis.errors import InvalidArgument, NotFound, Unavailable
from services.feedback.domain import reviews as model
from services.feedback.domain.events import ReviewPosted
from services.feedback.domain.keys import review_key
from services.feedback.domain.opening import opens_case, review_case_id
from services.feedback.domain.reviews import RatingClass, Review
from services.feedback.service.cases import SAVE_ATTEMPTS, Clock, list_limit, utc_now
from services.feedback.service.erasure import Erasure
from services.feedback.service.opening import CaseOpening, new_ulid
from services.feedback.service.ports import MembersPort, PolicyRepository, ReviewRepository

REQUEST_ID_MAX = 128


class Reviews:
    def __init__(
        self,
        reviews: ReviewRepository,
        opening: CaseOpening,
        members: MembersPort,
        policies: PolicyRepository,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_ulid,
        erasure: Erasure | None = None,
    ) -> None:
        self._reviews = reviews
        self._opening = opening
        self._members = members
        self._policies = policies
        self._clock = clock
        self._new_id = new_id
        self._erasure = erasure

    async def post(
        self,
        *,
        tenant_id: str,
        member_id: str,
        store_id: str,
        receipt_no: str,
        sku: str,
        rating: int,
        text: str,
        image_urls: Sequence[str],
        channel: str,
        request_id: str,
        delivery_city: str = "",
    ) -> tuple[Review, bool]:
        """(the review, created now). Without a request id every call posts a new review."""
        request = fields.text("request_id", request_id, REQUEST_ID_MAX) or self._new_id()
        now = self._clock()
        review = model.parse_review(
            review_id=review_key(tenant_id, member_id.strip(), request),
            tenant_id=tenant_id,
            member_id=member_id,
            store_id=store_id,
            receipt_no=receipt_no,
            sku=sku,
            rating=rating,
            text=text,
            image_urls=image_urls,
            channel=channel,
            posted_at=now,
            delivery_city=delivery_city,
        )
        if self._erasure is not None:
            await self._erasure.refuse_if_erased(tenant_id, review.member_id)
        stored = await self._reviews.get(tenant_id, review.id)
        created = False
        if stored is None:
            verified = bool(review.store_id) and await self._members.purchased_at_store(
                tenant_id, review.member_id, review.store_id
            )
            policy = await self._policies.current(tenant_id)
            case_id = review_case_id(review) if opens_case(review, policy) else ""
            review = replace(review, verified_purchase=verified, case_id=case_id)
            stored, created = await self._reviews.insert(review, ReviewPosted(review))
        await self._opening.open_for_review(stored)  # again on a retry: finishes a cut-off post
        if self._erasure is not None and created:
            await self._erasure.settle(tenant_id, stored.member_id)  # erased meanwhile: scrubbed
        return stored, created

    async def get(self, tenant_id: str, review_id: str) -> Review:
        found = await self._reviews.get(tenant_id, review_id)
        if found is None:
            raise NotFound(f"review {review_id} not found")
        return found

    async def list_reviews(
        self, tenant_id: str, store_id: str, member_id: str, rating_class: str, limit: int
    ) -> list[Review]:
        kind = fields.choice("rating_class", rating_class, RatingClass) if rating_class else None
        return await self._reviews.find(
            tenant_id, store_id.strip(), member_id.strip(), kind, list_limit(limit)
        )

    async def reply(self, tenant_id: str, review_id: str, text: str, by: str) -> Review:
        """The shop's public reply, quoting the review as it stands (an earlier reply is kept)."""
        at = self._clock()
        return await self._change(tenant_id, review_id, lambda r: model.reply(r, text, by, at))

    async def amend(
        self,
        tenant_id: str,
        review_id: str,
        member_id: str,
        rating: int,
        text: str,
        image_urls: Sequence[str],
    ) -> Review:
        """The member's own new version; the one before stays in the history."""
        if not member_id.strip():
            raise InvalidArgument("member_id", "member_id is required: only the review's member amends it")
        at = self._clock()
        return await self._change(
            tenant_id, review_id, lambda r: model.amend(r, member_id, rating, text, image_urls, at)
        )

    async def _change(self, tenant_id: str, review_id: str, decide: Callable[[Review], Review]) -> Review:
        for _ in range(SAVE_ATTEMPTS):
            before = await self.get(tenant_id, review_id)
            after = decide(before)
            if after is before:
                return after
            after = replace(after, version=before.version + 1)
            if await self._reviews.save(after, before.version):
                return after
        raise Unavailable("the review is changing too fast; try again")
