"""Events feedback consumes: its own review_posted, to open the case a bad review opens when a
crash stopped the post between the review and its case (opening is keyed by the review, so a
redelivered event, or the post finishing too, makes one case)."""

from __future__ import annotations

from regulars.feedback.v1 import events_pb2

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, by_event_type, on
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reviews import Reviews


def subscriptions(reviews: Reviews, opening: CaseOpening) -> dict[str, Handler]:
    async def review_posted(env: Envelope, e: events_pb2.ReviewPosted) -> None:
        if e.review.case_id:
            await opening.open_for_review(await reviews.get(env.tenant_id, e.review.id))

    return by_event_type(on(events_pb2.ReviewPosted, review_posted))
