"""Survey and thread protobuf <-> the gateway's schemas.

Empty strings of optional references (a receipt, a case id, an assignee) come back as None.
"""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2 as pb

from gateway.clients.pb_time import optional_moment
from gateway.schemas.surveys import SurveyAnswerOut, SurveyOut, ThreadMessageOut, ThreadOut


def _or_none(value: str) -> str | None:
    return value or None


def survey_out(s: pb.Survey) -> SurveyOut:
    a = s.answer
    return SurveyOut(
        id=s.id,
        member_id=s.member_id,
        store_id=s.store_id,
        purchase_id=s.purchase_id,
        receipt_no=_or_none(s.receipt_no),
        staff_id=_or_none(s.staff_id),
        purchased_at=optional_moment(s, "purchased_at"),
        token=s.token,
        state=s.state,
        scheduled_at=optional_moment(s, "scheduled_at"),
        due_at=optional_moment(s, "due_at"),
        closes_at=optional_moment(s, "closes_at"),
        answer=SurveyAnswerOut(
            csat=a.csat,
            nps=a.nps if a.HasField("nps") else None,
            text=a.text,
            wants_call_back=a.wants_call_back,
            category=_or_none(a.category),
            answered_at=optional_moment(a, "answered_at"),
        )
        if s.HasField("answer")
        else None,
        case_id=_or_none(s.case_id),
        points=s.points,
        erased_at=optional_moment(s, "erased_at"),
    )


def thread_out(t: pb.Thread) -> ThreadOut:
    return ThreadOut(
        id=t.id,
        member_id=t.member_id,
        kind=t.kind,
        store_id=_or_none(t.store_id),
        state=t.state,
        messages=[
            ThreadMessageOut(id=m.id, author=m.author, by=m.by, text=m.text, at=optional_moment(m, "at"))
            for m in t.messages
        ],
        assigned_store_id=_or_none(t.assigned_store_id),
        assigned_staff_id=_or_none(t.assigned_staff_id),
        opened_at=optional_moment(t, "opened_at"),
        first_response_due=optional_moment(t, "first_response_due"),
        first_responded_at=optional_moment(t, "first_responded_at"),
        sla_breaches=list(t.sla_breaches),
        adopted_at=optional_moment(t, "adopted_at"),
        adopted_by=_or_none(t.adopted_by),
        closed_at=optional_moment(t, "closed_at"),
        closed_by=_or_none(t.closed_by),
        erased_at=optional_moment(t, "erased_at"),
    )
