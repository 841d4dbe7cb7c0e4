"""A complaint case: what it is about, where it stands, what happened to it, and the remedy it
got. No I/O; the moves between states are in transitions.py.

States follow the five steps shops use: open -> acknowledged (apology and first response) ->
in_progress -> resolved (with the remedy) -> follow_up (the follow-up day came) -> closed
(with the customer's satisfaction); or rejected from open, acknowledged or in progress (e.g.
confirmed extortion). Every action is a TimelineEntry (who, when, what they said). How a case
opens is in opening.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chassis import fields
from chassis.errors import InvalidArgument
from services.feedback.domain.reviews import REF_MAX, TEXT_MAX, RatingClass
from services.feedback.domain.risk import RiskAssessment
from services.feedback.domain.sla import Severity

POINTS_MAX = 1_000_000
VALUE_MAX = 10**8


class CaseState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        """How a person says it: "the case is {label}"."""
        return {"in_progress": "in progress", "follow_up": "in follow-up"}.get(self.value, self.value)


ACTIVE = (CaseState.OPEN, CaseState.ACKNOWLEDGED, CaseState.IN_PROGRESS)  # before resolution


class Category(StrEnum):
    PRODUCT_COUNTERFEIT = "product_counterfeit"
    PRODUCT_PRICE_DISPUTE = "product_price_dispute"
    PRODUCT_LABELLING = "product_labelling"
    PRODUCT_QUALITY = "product_quality"
    SERVICE_ATTITUDE = "service_attitude"
    SERVICE_DISCOUNT_NOT_HONOURED = "service_discount_not_honoured"
    SERVICE_DELIVERY = "service_delivery"
    SERVICE_OTHER = "service_other"


class Source(StrEnum):
    REVIEW = "review"
    SURVEY = "survey"
    CUSTOMER = "customer"
    ASSISTANT = "assistant"


class Action(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    STARTED = "started"
    RESOLVED = "resolved"
    FOLLOW_UP_DUE = "follow_up_due"
    CLOSED = "closed"
    REJECTED = "rejected"
    SLA_BREACHED = "sla_breached"
    RISK_APPROVED = "risk_approved"
    EXTORTION_CONFIRMED = "extortion_confirmed"
    COMPENSATION_ISSUED = "compensation_issued"
    NOTE = "note"


class RemedyKind(StrEnum):
    COUPON = "coupon"
    POINTS = "points"
    EXCHANGE = "exchange"
    REPAIR = "repair"
    REFUND = "refund"
    APOLOGY_ONLY = "apology_only"


NEEDS_NOTE = (RemedyKind.EXCHANGE, RemedyKind.REPAIR, RemedyKind.REFUND)


@dataclass(frozen=True)
class TimelineEntry:
    action: Action
    by: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Remedy:
    """What the shop gave. A coupon's template (the policy's preset, or one staff chose) and
    its value, and once issued its code; points for a points remedy. Nothing in a remedy can
    depend on the review being changed: there is no such field."""

    kind: RemedyKind
    note: str = ""
    template_id: str = ""
    value: int = 0
    coupon_code: str = ""
    points: int = 0


@dataclass(frozen=True)
class Settlement:
    """A resolution under way: the remedy as planned (the coupon's template and value, the
    points), the store-month budget it is charged to, and when and by whom it was decided.
    It is written on the case before anything is charged or issued, so a retry (or the clock)
    finishes exactly this resolution, however long after."""

    remedy: Remedy
    by: str
    at: datetime
    budget_month: str = ""  # "YYYY-MM" in the tenant's zone, for a coupon
    budget_limit: int = 0  # the store's monthly budget then
    follow_up_days: int = 7


@dataclass(frozen=True)
class Case:
    id: str
    tenant_id: str
    member_id: str
    store_id: str
    category: Category
    severity: Severity
    description: str
    state: CaseState
    source: Source
    opened_by: str
    opened_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    review_id: str = ""
    receipt_no: str = ""
    rating_class: RatingClass | None = None  # of the review that opened it
    assigned_store_id: str = ""
    assigned_staff_id: str = ""
    timeline: tuple[TimelineEntry, ...] = ()
    remedy: Remedy | None = None
    risk: RiskAssessment = field(default_factory=RiskAssessment)
    satisfaction: int = 0  # 1-5 at closing
    follow_up_at: datetime | None = None
    sla_breaches: tuple[str, ...] = ()
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    rejected_at: datetime | None = None
    pending: Settlement | None = None
    survey_id: str = ""  # of the survey whose answer opened it
    delivery_city: str = ""  # where the goods were delivered, when the complainant says (risk)
    erased_at: datetime | None = None  # the member was erased: content gone (domain.erasure)
    version: int = 1  # the store's guard: each change saves only on top of the version read

    @property
    def first_response_met_at(self) -> datetime | None:
        """Acknowledging answers; so does rejecting a case never acknowledged."""
        return self.first_responded_at or self.rejected_at

    @property
    def resolution_met_at(self) -> datetime | None:
        """Resolving (from the moment it was decided, even while its coupon is being issued) or
        rejecting."""
        return self.resolved_at or (self.pending.at if self.pending else None) or self.rejected_at


def parse_remedy(kind: str, note: str, template_id: str = "", value: int = 0, points: int = 0) -> Remedy:
    """A remedy as staff give it, each field checked and named ("remedy.points")."""
    remedy_kind = fields.choice("remedy.kind", kind, RemedyKind)
    text = fields.text("remedy.note", note, TEXT_MAX, multiline=True)
    if remedy_kind in NEEDS_NOTE and not text:
        raise InvalidArgument("remedy.note", f"say what the {remedy_kind.value} was (remedy.note)")
    template = fields.text("remedy.template_id", template_id, REF_MAX)
    if remedy_kind is not RemedyKind.COUPON and (template or value):
        raise InvalidArgument("remedy.template_id", "a template and value go with a coupon remedy only")
    if remedy_kind is RemedyKind.COUPON:
        fields.integer("remedy.value", value, 0, VALUE_MAX)
        if template and value <= 0:
            raise InvalidArgument("remedy.value", "say what the chosen template is worth (remedy.value)")
    if remedy_kind is RemedyKind.POINTS:
        fields.integer("remedy.points", points, 1, POINTS_MAX)
    elif points:
        raise InvalidArgument("remedy.points", "points go with a points remedy only")
    return Remedy(remedy_kind, text, template, value if remedy_kind is RemedyKind.COUPON else 0, "", points)
