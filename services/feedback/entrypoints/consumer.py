"""Events feedback consumes: its own review_posted, to open the case a bad review opens when a
crash stopped the post between the review and its case (opening is keyed by the review, so a
redelivered event, or the post finishing too, makes one case); members' purchase_made, each
purchase counted once for the reports (keyed by the purchase, so a redelivery counts nothing)."""

from __future__ import annotations

from datetime import UTC

from regulars.feedback.v1 import events_pb2
from regulars.members.v1 import events_pb2 as members_events

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, by_event_type, on
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reports import Reports
from services.feedback.service.reviews import Reviews


def subscriptions(reviews: Reviews, opening: CaseOpening, reports: Reports) -> dict[str, Handler]:
    async def review_posted(env: Envelope, e: events_pb2.ReviewPosted) -> None:
        if e.review.case_id:
            await opening.open_for_review(await reviews.get(env.tenant_id, e.review.id))

    async def purchase_made(env: Envelope, e: members_events.PurchaseMade) -> None:
        p = e.purchase
        at = p.occurred_at.ToDatetime(tzinfo=UTC)
        await reports.count_purchase(p.tenant_id, p.id, p.store_id, p.receipt_no, p.credited_staff_id, at)

    return by_event_type(
        on(events_pb2.ReviewPosted, review_posted),
        on(members_events.PurchaseMade, purchase_made),
    )
