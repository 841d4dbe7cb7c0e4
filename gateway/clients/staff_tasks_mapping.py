"""Staff-task protobuf -> the gateway's schemas. Empty references come back as None."""

from __future__ import annotations

from typing import cast

from regulars.messaging.v1 import messaging_pb2 as pb

from gateway.clients.pb_time import optional_moment
from gateway.schemas.staff_tasks import OutcomeName, StaffTaskOut, StaffTaskStatOut


def task_out(t: pb.StaffTask) -> StaffTaskOut:
    return StaffTaskOut(
        id=t.id,
        member_id=t.member_id,
        staff_id=t.staff_id or None,
        store_id=t.store_id,
        message_id=t.message_id,
        template_id=t.template_id,
        title=t.title,
        script=t.script,
        due_at=optional_moment(t, "due_at"),
        state=t.state,
        outcome=cast(OutcomeName, t.outcome) if t.outcome else None,
        notes=t.notes,
        created_at=optional_moment(t, "created_at"),
        completed_at=optional_moment(t, "completed_at"),
        on_time=t.on_time,
        previous_staff_ids=list(t.previous_staff_ids),
    )


def stat_out(s: pb.StaffTaskStat) -> StaffTaskStatOut:
    return StaffTaskStatOut(
        staff_id=s.staff_id or None,
        open=s.open,
        overdue=s.overdue,
        done=s.done,
        done_on_time=s.done_on_time,
        on_time_rate=s.on_time_rate,
        conversions=s.conversions,
        revenue_minor=s.attributed_revenue.minor_units,
        currency=s.attributed_revenue.currency,
    )
