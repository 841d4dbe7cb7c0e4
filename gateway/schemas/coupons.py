"""Bodies of the coupon routes. Constraints mirror services/coupons/domain (templates.py, codes.py).

Money is in minor units (fen); `percent_off` is in basis points (1500 = 15 % off). Request
bodies carry the bounds, so bad input is a 422 naming the field; rules that span fields (what
a kind needs, one validity mode) are the service's, a 400 naming the field. Response bodies
carry no bounds: they say what is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.schemas.common import UtcTimestamp

MAX_MONEY = 10**12  # ¥10 billion in fen, as for purchases
MAX_COUNT = 10**12
MAX_PER_MEMBER = 1_000
MAX_DURATION_SECONDS = 3660 * 86_400  # ten years
LIST_MAX = 200

Money = Annotated[int, Field(ge=0, le=MAX_MONEY)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Names = Annotated[list[Name], Field(max_length=LIST_MAX)]
Id = Annotated[str, Field(min_length=1, max_length=64)]

CouponKindName = Literal["amount_off", "percent_off", "threshold", "gift"]
TemplateStateName = Literal["draft", "active", "paused", "ended"]
CouponStateName = Literal["available", "locked", "redeemed", "expired", "shared"]
ClaimOutcomeName = Literal["issued", "sold_out", "limit_reached", "not_eligible", "not_available"]
RuleTrigger = Literal[
    "member_registered", "purchase_made", "member_birthday_month_started", "referral_converted", "schedule"
]

_ID = "01JD6Q3Z8M4W1T5X9C2B7N0KAE"
_TEMPLATE_ID = "01JD6Q3Z8M4W1T5X9C2B7N0T01"
_BENEFIT: dict[str, JsonValue] = {"kind": "amount_off", "amount_off": 2000, "min_spend": 10000}
_BENEFIT_OUT: dict[str, JsonValue] = {
    "kind": "amount_off",
    "amount_off": 2000,
    "percent_off": 0,
    "max_discount": 0,
    "threshold": 0,
    "repeating": False,
    "gift_sku": "",
    "min_spend": 10000,
}
_SCOPE: dict[str, JsonValue] = {"include_brands": ["Rouge Co"], "exclude_categories": ["Gift cards"]}
_SCOPE_OUT: dict[str, JsonValue] = {
    "include_brands": ["Rouge Co"],
    "exclude_brands": [],
    "include_categories": [],
    "exclude_categories": ["Gift cards"],
    "include_skus": [],
    "exclude_skus": [],
    "include_stores": [],
    "exclude_stores": [],
}
_VALIDITY: dict[str, JsonValue] = {"duration_seconds": 2_592_000}
_LIMITS: dict[str, JsonValue] = {"total_stock": 1000, "per_member_limit": 1}
_TEMPLATE_BODY: dict[str, JsonValue] = {
    "name": "¥20 off ¥100",
    "description": "Autumn welcome back",
    "benefit": _BENEFIT,
    "scope": _SCOPE,
    "validity": _VALIDITY,
    "limits": _LIMITS,
    "audience": {"kind": "all"},
    "claimable": True,
    "stackable": True,
}
_TEMPLATE_OUT: dict[str, JsonValue] = {
    "id": _TEMPLATE_ID,
    "name": "¥20 off ¥100",
    "description": "Autumn welcome back",
    "benefit": _BENEFIT_OUT,
    "scope": _SCOPE_OUT,
    "validity": {"starts_at": None, "ends_at": None, "duration_seconds": 2_592_000, "until_end_of": ""},
    "limits": {"total_stock": 1000, "per_member_limit": 1, "per_period_limit": 0, "period": "", "budget": 0},
    "audience": {"kind": "all", "tiers": [], "segment_id": None},
    "claimable": True,
    "shareable": False,
    "stackable": True,
    "stays_spent_on_refund": False,
    "state": "active",
    "version": 1,
    "created_at": "2026-11-23T10:00:00Z",
    "issued": 312,
    "budget_used": 84000,
    "audience_ready": True,
}
_COUPON_OUT: dict[str, JsonValue] = {
    "id": "01JD6Q3Z8M4W1T5X9C2B7N0C01",
    "code": "7K2M-9QXD-4T1E",
    "template_id": _TEMPLATE_ID,
    "member_id": _ID,
    "name": "¥20 off ¥100",
    "state": "available",
    "benefit": _BENEFIT_OUT,
    "scope": _SCOPE_OUT,
    "stackable": True,
    "shareable": False,
    "valid_from": "2026-11-23T10:00:00Z",
    "valid_until": "2026-12-23T10:00:00Z",
    "issued_at": "2026-11-23T10:00:00Z",
    "source": "claim",
    "lock_expires_at": None,
    "redemption": None,
    "shared_to_coupon_id": None,
    "shared_from_coupon_id": None,
}
_RULE_BODY: dict[str, JsonValue] = {
    "name": "Welcome coupon",
    "trigger": "member_registered",
    "template_id": _TEMPLATE_ID,
}
_JOB_OUT: dict[str, JsonValue] = {
    "id": "01JD6Q3Z8M4W1T5X9C2B7N0J01",
    "template_id": _TEMPLATE_ID,
    "segment_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01",
    "state": "running",
    "members_seen": 1500,
    "issued": 1480,
    "skipped": 20,
    "detail": "",
    "started_at": "2026-11-23T10:00:00Z",
    "finished_at": None,
}


# --- Templates: request bodies -----------------------------------------------------------------


class BenefitBody(BaseModel):
    """What the coupon takes off. Fields that do not belong to the kind stay 0 or empty."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_BENEFIT]})

    kind: CouponKindName
    amount_off: Money = Field(default=0, description="amount_off and threshold kinds: the amount taken off")
    percent_off: int = Field(
        default=0, ge=0, le=9999, description="percent_off kind: 1..9999 basis points (1500 = 15 % off)"
    )
    max_discount: Money = Field(
        default=0, description="Cap of a percent_off or repeating threshold discount; 0 = none"
    )
    threshold: Money = Field(default=0, description='threshold kind: "spend ¥300" is 30000')
    repeating: bool = Field(default=False, description='threshold kind: "… per ¥300 spent"')
    gift_sku: str = Field(default="", max_length=64, description="gift kind: pays for one unit of this SKU")
    min_spend: Money = Field(default=0, description="On the eligible subtotal; 0 = none")


class ScopeBody(BaseModel):
    """Where the coupon counts. An empty include list means everything; an exclusion always wins.
    Brands and categories match ignoring case and spacing; SKUs and stores exactly."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_SCOPE]})

    include_brands: Names = Field(default_factory=list)
    exclude_brands: Names = Field(default_factory=list)
    include_categories: Names = Field(default_factory=list)
    exclude_categories: Names = Field(default_factory=list)
    include_skus: Names = Field(default_factory=list)
    exclude_skus: Names = Field(default_factory=list)
    include_stores: Names = Field(default_factory=list)
    exclude_stores: Names = Field(default_factory=list)


class ValidityBody(BaseModel):
    """Exactly one of: a fixed window (`starts_at` and `ends_at`), `duration_seconds` after issue,
    or `until_end_of` the issuing day or month (in the tenant's time zone)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_VALIDITY]})

    starts_at: UtcTimestamp | None = None
    ends_at: UtcTimestamp | None = None
    duration_seconds: int = Field(default=0, ge=0, le=MAX_DURATION_SECONDS, description="0 = not this mode")
    until_end_of: Literal["", "day", "month"] = ""


class LimitsBody(BaseModel):
    """How many and how much; 0 means unlimited throughout."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_LIMITS]})

    total_stock: Count = Field(default=0, description="Coupons that may be issued in all")
    per_member_limit: int = Field(
        default=0, ge=0, le=MAX_PER_MEMBER, description="Coupons one member may hold over the template's life"
    )
    per_period_limit: int = Field(default=0, ge=0, le=MAX_PER_MEMBER, description="Per `period`")
    period: Literal["", "day", "week", "month"] = Field(default="", description="With per_period_limit")
    budget: Money = Field(default=0, description="Total discount the template may give")


class AudienceBody(BaseModel):
    """Who may claim it: everyone, members of some tiers, or a members segment."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "tiers", "tiers": ["gold"]}]}
    )

    kind: Literal["all", "tiers", "segment"] = "all"
    tiers: Names = Field(default_factory=list, description="kind tiers")
    segment_id: str = Field(
        default="", max_length=64, description="kind segment; copied in when the template activates"
    )


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TEMPLATE_BODY]})

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=500)
    benefit: BenefitBody
    scope: ScopeBody = Field(default_factory=ScopeBody)
    validity: ValidityBody
    limits: LimitsBody = Field(default_factory=LimitsBody)
    audience: AudienceBody = Field(default_factory=AudienceBody)
    claimable: bool = Field(default=False, description="Members may claim it themselves")
    shareable: bool = Field(default=False, description="A holder may give it to a friend")
    stackable: bool = Field(default=False, description="False: exclusive, used alone")
    stays_spent_on_refund: bool = Field(
        default=False, description="A refund does not give the coupon back (default: usable again)"
    )


class UpdateTemplateBody(BaseModel):
    """Only the fields sent change (null or absent: unchanged); a nested object is replaced whole.
    Once the template has gone live, benefit, scope and stackable are fixed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "¥20 off ¥100 (extended)", "limits": {"total_stock": 2000, "per_member_limit": 1}}
            ]
        },
    )

    name: str | None = Field(default=None, min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=500)
    benefit: BenefitBody | None = None
    scope: ScopeBody | None = None
    validity: ValidityBody | None = None
    limits: LimitsBody | None = None
    audience: AudienceBody | None = None
    claimable: bool | None = None
    shareable: bool | None = None
    stackable: bool | None = None
    stays_spent_on_refund: bool | None = None


class TemplateStateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"state": "active"}]})

    state: Literal["active", "paused", "ended"] = Field(
        description="draft → active ⇄ paused; any → ended (final)"
    )


# --- Templates: responses ----------------------------------------------------------------------


class BenefitOut(BaseModel):
    kind: str = Field(description="amount_off, percent_off, threshold or gift")
    amount_off: int
    percent_off: int = Field(description="Basis points")
    max_discount: int
    threshold: int
    repeating: bool
    gift_sku: str
    min_spend: int


class ScopeOut(BaseModel):
    include_brands: list[str]
    exclude_brands: list[str]
    include_categories: list[str]
    exclude_categories: list[str]
    include_skus: list[str]
    exclude_skus: list[str]
    include_stores: list[str]
    exclude_stores: list[str]


class ValidityOut(BaseModel):
    starts_at: datetime | None
    ends_at: datetime | None
    duration_seconds: int
    until_end_of: str


class LimitsOut(BaseModel):
    total_stock: int
    per_member_limit: int
    per_period_limit: int
    period: str
    budget: int


class AudienceOut(BaseModel):
    kind: str
    tiers: list[str]
    segment_id: str | None = Field(description="Segment audience: the segment")


class TemplateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TEMPLATE_OUT]})

    id: str
    name: str
    description: str
    benefit: BenefitOut
    scope: ScopeOut
    validity: ValidityOut
    limits: LimitsOut
    audience: AudienceOut
    claimable: bool
    shareable: bool
    stackable: bool
    stays_spent_on_refund: bool
    state: str = Field(description="draft, active, paused or ended")
    version: int = Field(
        description="Goes up with every change; a coupon keeps the version it was issued with"
    )
    created_at: datetime
    issued: int = Field(description="Coupons issued so far (stock used)")
    budget_used: int = Field(description="Discount given so far, minor units")
    audience_ready: bool = Field(description="Segment audience: false until copied in at activation")


class TemplateList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TEMPLATE_OUT]}]})

    items: list[TemplateOut]


class ReportRowOut(BaseModel):
    key: str = Field(description="The store id or the staff id")
    redeemed: int
    discount: int
    revenue: int


class TemplateReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template_id": _TEMPLATE_ID,
                    "issued": 312,
                    "claimed": 300,
                    "shared": 2,
                    "redeemed": 42,
                    "expired": 10,
                    "redemption_rate": 0.1355,
                    "total_discount": 84000,
                    "revenue": 630000,
                    "by_store": [{"key": "sh-01", "redeemed": 42, "discount": 84000, "revenue": 630000}],
                    "by_staff": [
                        {
                            "key": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                            "redeemed": 42,
                            "discount": 84000,
                            "revenue": 630000,
                        }
                    ],
                }
            ]
        }
    )

    template_id: str
    issued: int
    claimed: int
    shared: int
    redeemed: int
    expired: int
    redemption_rate: float = Field(description="redeemed / (issued - shared), 0..1")
    total_discount: int
    revenue: int = Field(description="Total paid on receipts that used the template's coupons")
    by_store: list[ReportRowOut]
    by_staff: list[ReportRowOut]


# --- Issue jobs and rules ----------------------------------------------------------------------


class IssueJobBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"segment_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01", "job_key": "autumn-gold-2026"}]
        },
    )

    segment_id: Id = Field(description="The members segment to issue to")
    job_key: Id = Field(description="Starting the same job_key again returns that job")


class IssueJobOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_JOB_OUT]})

    id: str
    template_id: str
    segment_id: str
    state: str = Field(description="running, done or failed")
    members_seen: int
    issued: int
    skipped: int = Field(description="Limit reached, not eligible or sold out")
    detail: str
    started_at: datetime
    finished_at: datetime | None


class RuleConditionsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"min_spend": 50000}]})

    min_spend: Money = Field(default=0, description="purchase_made: only purchases paying at least this")
    tiers: Names = Field(default_factory=list, description="Only members in these tiers (empty: any)")


class RuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RULE_BODY]})

    name: str = Field(min_length=1, max_length=80)
    trigger: RuleTrigger = Field(description="referral_converted rewards the referring member")
    template_id: Id
    conditions: RuleConditionsBody = Field(default_factory=RuleConditionsBody)
    day_of_month: int = Field(default=0, ge=0, le=28, description="schedule: the day it runs, 1..28")
    segment_id: str = Field(default="", max_length=64, description="schedule: the segment it issues to")


class RuleConditionsOut(BaseModel):
    min_spend: int
    tiers: list[str]


class RuleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_RULE_BODY,
                    "id": "01JD6Q3Z8M4W1T5X9C2B7N0R01",
                    "conditions": {"min_spend": 0, "tiers": []},
                    "day_of_month": 0,
                    "segment_id": None,
                    "active": True,
                    "created_at": "2026-11-23T10:00:00Z",
                }
            ]
        }
    )

    id: str
    name: str
    trigger: str
    template_id: str
    conditions: RuleConditionsOut
    day_of_month: int
    segment_id: str | None = Field(description="schedule: the segment it issues to")
    active: bool
    created_at: datetime


class RuleList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            **_RULE_BODY,
                            "id": "01JD6Q3Z8M4W1T5X9C2B7N0R01",
                            "conditions": {"min_spend": 0, "tiers": []},
                            "day_of_month": 0,
                            "segment_id": None,
                            "active": True,
                            "created_at": "2026-11-23T10:00:00Z",
                        }
                    ]
                }
            ]
        }
    )

    items: list[RuleOut]


class RuleActiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})

    active: bool


# --- Coupons -----------------------------------------------------------------------------------


class RedemptionOut(BaseModel):
    receipt_no: str
    store_id: str
    staff_id: str | None
    discount: int
    receipt_total: int
    purchase_id: str | None
    at: datetime


class CouponOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_COUPON_OUT]})

    id: str
    code: str = Field(description="What the till types or scans, grouped for reading: XXXX-XXXX-XXXX")
    template_id: str
    member_id: str
    name: str
    state: str = Field(description="available, locked, redeemed, expired or shared")
    benefit: BenefitOut
    scope: ScopeOut
    stackable: bool
    shareable: bool
    valid_from: datetime
    valid_until: datetime = Field(description="Exclusive")
    issued_at: datetime
    source: str = Field(description="claim, issue, job, rule, share or compensation")
    lock_expires_at: datetime | None = Field(description="While locked by a checkout")
    redemption: RedemptionOut | None
    shared_to_coupon_id: str | None = Field(description="Shared: the friend's coupon")
    shared_from_coupon_id: str | None = Field(description="Received from a friend: the original coupon")


class CouponList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_COUPON_OUT]}]})

    items: list[CouponOut] = Field(description="Newest first")


class ClaimOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "issued", "coupon": _COUPON_OUT, "detail": ""},
                {"outcome": "sold_out", "coupon": None, "detail": "sold out"},
            ]
        }
    )

    outcome: str = Field(description="issued, sold_out, limit_reached, not_eligible or not_available")
    coupon: CouponOut | None = Field(description="Set when issued")
    detail: str = Field(description="A sentence for the member or the staff")


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"template_id": _TEMPLATE_ID}]})

    template_id: Id


class IssueBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"member_id": _ID, "issue_id": "apology-2026-11-23-01"}]},
    )

    member_id: Id
    issue_id: Id = Field(description="Idempotency key: the same issue_id gives the same coupon")


class CompensationBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"member_id": _ID, "case_id": "CASE-20261123-0007"}]}
    )

    member_id: Id
    case_id: Id = Field(description="The complaint case: one coupon per case")


class ShareBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"to_member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAG"}]}
    )

    to_member_id: Id = Field(description="The friend, a member of the same tenant")


class CartLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Name
    brand: str = Field(default="", max_length=64)
    category: str = Field(default="", max_length=64)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    unit_price: Money = Field(description="Price of one item, minor units")


class ValidateCartBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": _ID,
                    "store_id": "sh-01",
                    "lines": [
                        {
                            "sku": "LIP-01",
                            "brand": "Rouge Co",
                            "category": "Lipstick",
                            "quantity": 1,
                            "unit_price": 15000,
                        }
                    ],
                }
            ]
        },
    )

    member_id: Id
    store_id: str = Field(
        default="", max_length=64, description="The till's store (default: the credential's store)"
    )
    lines: list[CartLineBody] = Field(min_length=1, max_length=200)


class CouponCheckOut(BaseModel):
    code: str
    coupon_id: str
    name: str
    applies: bool
    discount: int = Field(description="What it takes off this cart, alone")
    reason: str = Field(
        description=(
            "ok, expired, not_yet_valid, wrong_store, no_eligible_items, below_min_spend, "
            "below_threshold, gift_not_in_cart, not_stackable or not_available"
        )
    )
    detail: str


class SuggestedOut(BaseModel):
    code: str
    discount: int


class ValidateCartOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cart_total": 15000,
                    "checks": [
                        {
                            "code": "7K2M-9QXD-4T1E",
                            "coupon_id": "01JD6Q3Z8M4W1T5X9C2B7N0C01",
                            "name": "¥20 off ¥100",
                            "applies": True,
                            "discount": 2000,
                            "reason": "ok",
                            "detail": "",
                        }
                    ],
                    "suggested": [{"code": "7K2M-9QXD-4T1E", "discount": 2000}],
                    "suggested_discount": 2000,
                }
            ]
        }
    )

    cart_total: int
    checks: list[CouponCheckOut] = Field(description="Each of the member's usable coupons, and why not")
    suggested: list[SuggestedOut] = Field(description="The best combination the stacking rules allow")
    suggested_discount: int


class LockBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"checkout_id": "sh-01-till-3-0042", "store_id": "sh-01", "ttl_seconds": 300}]
        },
    )

    checkout_id: Id = Field(description="The till transaction holding it")
    store_id: str = Field(default="", max_length=64, description="Default: the credential's store")
    ttl_seconds: int = Field(default=0, ge=0, le=3600, description="0: the default (5 minutes)")


class RedeemBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "receipt_no": "R-20261123-0001",
                    "store_id": "sh-01",
                    "checkout_id": "sh-01-till-3-0042",
                    "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                    "discount": 2000,
                    "receipt_total": 13000,
                }
            ]
        },
    )

    receipt_no: Id = Field(description="A retry with the same receipt number returns the same redemption")
    store_id: str = Field(default="", max_length=64, description="Default: the credential's store")
    checkout_id: str = Field(default="", max_length=64, description="The checkout that locked it, if any")
    staff_id: str = Field(default="", max_length=64, description="Default: the staff session's assistant")
    discount: Money = Field(description="What the coupon took off this receipt")
    receipt_total: Money = Field(description="What the receipt paid, for reports")
    purchase_id: str = Field(default="", max_length=64)


class ReleaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"checkout_id": "sh-01-till-3-0042"}]}
    )

    checkout_id: Id = Field(description="The checkout that locked it")
