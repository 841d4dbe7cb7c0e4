"""Staff tasks and their statistics as protobuf: the gRPC replies and the events' payloads
(adapters/task_events.py) share this one shape."""

from __future__ import annotations

from datetime import datetime

from regulars.common.v1 import money_pb2
from regulars.messaging.v1 import messaging_pb2

from services.messaging.domain.tasks import StaffStat, StaffTask
from services.messaging.pb_shapes import stamp


def task_pb(t: StaffTask, now: datetime | None = None) -> messaging_pb2.StaffTask:
    """The task; with `now` (a listing) an open task past due says "overdue"."""
    return messaging_pb2.StaffTask(
        id=t.id,
        tenant_id=t.tenant_id,
        member_id=t.member_id,
        staff_id=t.staff_id,
        store_id=t.store_id,
        message_id=t.message_id,
        template_id=t.template_id,
        title=t.title,
        script=t.script,
        due_at=stamp(t.due_at),
        state=t.shown_state(now) if now is not None else t.state.value,
        outcome=t.outcome.value if t.outcome else "",
        notes=t.notes,
        created_at=stamp(t.created_at),
        completed_at=stamp(t.completed_at),
        on_time=t.on_time,
        previous_staff_ids=list(t.previous_staff_ids),
    )


def stat_pb(s: StaffStat) -> messaging_pb2.StaffTaskStat:
    return messaging_pb2.StaffTaskStat(
        staff_id=s.staff_id,
        open=s.open,
        overdue=s.overdue,
        done=s.done,
        done_on_time=s.done_on_time,
        on_time_rate=s.on_time_rate,
        attributed_revenue=money_pb2.Money(currency=s.currency, minor_units=s.revenue_minor),
        conversions=s.conversions,
    )
