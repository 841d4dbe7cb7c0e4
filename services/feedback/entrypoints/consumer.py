"""Events feedback consumes: its own review_posted, to open the case a bad review opens when a
crash stopped the post between the review and its case (opening is keyed by the review, so a
redelivered event, or the post finishing too, makes one case); members' purchase_made, to
schedule the purchase's satisfaction survey and count it for the reports (each keyed by the
purchase: once); its own survey_answered, to finish the case and points of an answer a crash
cut off (each once); members' member_erased, to scrub what the member left here (again:
nothing more; service/erasure.py). After our own review_posted and survey_answered the member's
erasure is settled too, so a post or an answer racing the erasure is scrubbed."""

from __future__ import annotations

from datetime import UTC

from regulars.feedback.v1 import events_pb2
from regulars.members.v1 import events_pb2 as members_events

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, PermanentError, by_event_type, on
from services.feedback.domain.surveys import Purchase
from services.feedback.service.erasure import Erasure
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reports import Reports
from services.feedback.service.reviews import Reviews
from services.feedback.service.surveys import Surveys


def subscriptions(
    reviews: Reviews, opening: CaseOpening, surveys: Surveys, reports: Reports, erasure: Erasure
) -> dict[str, Handler]:
    async def review_posted(env: Envelope, e: events_pb2.ReviewPosted) -> None:
        if e.review.case_id:
            await opening.open_for_review(await reviews.get(env.tenant_id, e.review.id))
        await erasure.settle(env.tenant_id, e.review.member_id)

    async def purchase_made(env: Envelope, e: members_events.PurchaseMade) -> None:
        p = e.purchase
        at = p.occurred_at.ToDatetime(tzinfo=UTC) if p.HasField("occurred_at") else env.time
        staff = p.credited_staff_id or p.served_by_staff_id
        await surveys.schedule(
            Purchase(env.tenant_id, p.id, p.member_id, p.store_id, p.receipt_no, staff, at)
        )
        paid = p.total_paid.minor_units if p.HasField("total_paid") else None
        await reports.count_purchase(
            p.tenant_id, p.id, p.store_id, p.receipt_no, p.credited_staff_id, at, paid
        )

    async def survey_answered(env: Envelope, e: events_pb2.SurveyAnswered) -> None:
        await surveys.follow_up(await surveys.get(env.tenant_id, survey_id=e.survey.id))

    async def member_erased(env: Envelope, e: members_events.MemberErased) -> None:
        if not e.member_id:
            raise PermanentError("member_erased without member_id")
        await erasure.erase(env.tenant_id, e.member_id)

    return by_event_type(
        on(events_pb2.ReviewPosted, review_posted),
        on(members_events.PurchaseMade, purchase_made),
        on(events_pb2.SurveyAnswered, survey_answered),
        on(members_events.MemberErased, member_erased),
    )
