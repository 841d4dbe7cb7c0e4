"""Coupon templates: what marketing configures, validated, and how it may change. No I/O.

A coupon copies its template's `Terms` when it is issued, so editing an active template only
changes coupons issued afterwards; what a customer already holds never changes under them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from chassis.errors import FailedPrecondition, InvalidArgument
from services.coupons.domain.validity import Validity

NAME_MAX = 80
DESCRIPTION_MAX = 500
ID_MAX = 64
LIST_MAX = 200
MAX_MONEY = 2**63 - 1  # stored as 64-bit integers
MAX_PER_MEMBER = 1_000  # limits are counted claim slots; more than this is no limit, use 0
BP = 10_000  # basis points in 100 %


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"
    THRESHOLD = "threshold"
    GIFT = "gift"


_NEEDS = {
    CouponKind.AMOUNT_OFF: {"amount_off"},
    CouponKind.PERCENT_OFF: {"percent_off"},
    CouponKind.THRESHOLD: {"amount_off", "threshold"},
    CouponKind.GIFT: {"gift_sku"},
}


@dataclass(frozen=True)
class Benefit:
    """What the coupon takes off. Money in minor units; `percent_off` in basis points (1500 = 15 %).

    Fields that do not belong to the kind must be left at zero/empty, so a misconfigured
    coupon is refused instead of silently meaning something else.
    """

    kind: CouponKind
    amount_off: int = 0
    percent_off: int = 0
    max_discount: int = 0  # 0 = no cap; percent_off and repeating threshold only
    threshold: int = 0
    repeating: bool = False
    gift_sku: str = ""
    min_spend: int = 0  # compared with the eligible subtotal

    @classmethod
    def parse(
        cls,
        kind: str,
        *,
        amount_off: int = 0,
        percent_off: int = 0,
        max_discount: int = 0,
        threshold: int = 0,
        repeating: bool = False,
        gift_sku: str = "",
        min_spend: int = 0,
    ) -> Benefit:
        try:
            k = CouponKind(kind)
        except ValueError:
            raise InvalidArgument("benefit.kind", f"kind must be one of {', '.join(CouponKind)}") from None
        money = {"amount_off": amount_off, "max_discount": max_discount, "threshold": threshold}
        for name, value in {**money, "min_spend": min_spend}.items():
            _money(f"benefit.{name}", value)
        given = {**money, "percent_off": percent_off, "gift_sku": _text("benefit.gift_sku", gift_sku, ID_MAX)}
        for name in ("amount_off", "percent_off", "threshold", "gift_sku"):
            if name in _NEEDS[k] and not given[name]:
                raise InvalidArgument(f"benefit.{name}", f"a {k} coupon needs {name}")
            if name not in _NEEDS[k] and given[name]:
                raise InvalidArgument(f"benefit.{name}", f"{name} does not apply to a {k} coupon")
        if repeating and k is not CouponKind.THRESHOLD:
            raise InvalidArgument("benefit.repeating", "only threshold coupons repeat")
        if max_discount and not (k is CouponKind.PERCENT_OFF or repeating):
            raise InvalidArgument(
                "benefit.max_discount", "only percent_off and repeating threshold coupons have a cap"
            )
        if k is CouponKind.PERCENT_OFF and not 1 <= percent_off < BP:
            raise InvalidArgument(
                "benefit.percent_off", "percent_off must be 1..9999 basis points (1500 = 15 %)"
            )
        if k is CouponKind.THRESHOLD and amount_off >= threshold:
            raise InvalidArgument("benefit.amount_off", "amount_off must be less than the threshold")
        return cls(
            k, amount_off, percent_off, max_discount, threshold, repeating, str(given["gift_sku"]), min_spend
        )


_SCOPE_LISTS = tuple(
    f"{way}_{dim}" for dim in ("brands", "categories", "skus", "stores") for way in ("include", "exclude")
)


@dataclass(frozen=True)
class Scope:
    """Where the coupon counts. An empty include list means everything; an exclusion always wins.

    Dimensions combine with AND: include_brands=[X] with include_categories=[shoes] is X's
    shoes. Brands and categories match ignoring case and spacing; SKUs and stores exactly.
    """

    include_brands: tuple[str, ...] = ()
    exclude_brands: tuple[str, ...] = ()
    include_categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    include_skus: tuple[str, ...] = ()
    exclude_skus: tuple[str, ...] = ()
    include_stores: tuple[str, ...] = ()
    exclude_stores: tuple[str, ...] = ()

    @classmethod
    def parse(cls, **lists: Iterable[str]) -> Scope:
        values: dict[str, tuple[str, ...]] = {}
        for name, raw in lists.items():
            if name not in _SCOPE_LISTS:
                raise InvalidArgument(f"scope.{name}", f"unknown scope list {name}")
            values[name] = _name_list(f"scope.{name}", raw, fold=name.endswith(("brands", "categories")))
        return cls(**values)

    def line_applies(self, sku: str, brand: str, category: str) -> bool:
        checks = (
            (sku, self.include_skus, self.exclude_skus, False),
            (brand, self.include_brands, self.exclude_brands, True),
            (category, self.include_categories, self.exclude_categories, True),
        )
        if any(_key(v, fold) in {_key(x, fold) for x in exc} for v, _, exc, fold in checks):
            return False
        return all(not inc or _key(v, fold) in {_key(x, fold) for x in inc} for v, inc, _, fold in checks)

    def store_applies(self, store_id: str) -> bool:
        if store_id in self.exclude_stores:
            return False
        return not self.include_stores or store_id in self.include_stores


class Period(StrEnum):
    NONE = ""
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Limits:
    """How many and how much. 0 means unlimited throughout; the budget is total discount given."""

    total_stock: int = 0
    per_member_limit: int = 0  # over the template's life
    per_period_limit: int = 0
    period: Period = Period.NONE
    budget: int = 0

    @classmethod
    def parse(
        cls,
        *,
        total_stock: int = 0,
        per_member_limit: int = 0,
        per_period_limit: int = 0,
        period: str = "",
        budget: int = 0,
    ) -> Limits:
        _money("limits.total_stock", total_stock)
        _money("limits.budget", budget)
        for name, value in (("per_member_limit", per_member_limit), ("per_period_limit", per_period_limit)):
            if not 0 <= value <= MAX_PER_MEMBER:
                raise InvalidArgument(f"limits.{name}", f"{name} must be 0 (unlimited) to {MAX_PER_MEMBER}")
        try:
            p = Period(period)
        except ValueError:
            raise InvalidArgument("limits.period", "period must be day, week or month") from None
        if bool(per_period_limit) != bool(p):
            missing = "period" if per_period_limit else "per_period_limit"
            raise InvalidArgument(f"limits.{missing}", "per_period_limit and period go together")
        if per_member_limit and per_period_limit > per_member_limit:
            raise InvalidArgument(
                "limits.per_period_limit", "per_period_limit must not exceed per_member_limit"
            )
        return cls(total_stock, per_member_limit, per_period_limit, p, budget)


def period_key(period: str, at: datetime, tz: tzinfo) -> str:
    """The local period `at` falls in, e.g. "2026-11-23", "2026-W48" (ISO week), "2026-11".

    Part of a claim's unique key, so a per-period limit is enforced by unique inserts.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    local = at.astimezone(tz)
    p = Period(period)
    if p is Period.DAY:
        return local.date().isoformat()
    if p is Period.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if p is Period.MONTH:
        return f"{local.year}-{local.month:02d}"
    raise ValueError("a period key needs a period")


class AudienceKind(StrEnum):
    ALL = "all"
    TIERS = "tiers"
    SEGMENT = "segment"


@dataclass(frozen=True)
class Audience:
    """Who may claim or be granted the coupon: everyone, members of some tiers, or a segment."""

    kind: AudienceKind = AudienceKind.ALL
    tiers: tuple[str, ...] = ()
    segment_id: str = ""

    @classmethod
    def parse(cls, kind: str = "all", *, tiers: Iterable[str] = (), segment_id: str = "") -> Audience:
        try:
            k = AudienceKind(kind or "all")
        except ValueError:
            raise InvalidArgument("audience.kind", "kind must be all, tiers or segment") from None
        t = _name_list("audience.tiers", tiers, fold=False)
        segment_id = _text("audience.segment_id", segment_id, ID_MAX)
        if (k is AudienceKind.TIERS) != bool(t):
            raise InvalidArgument("audience.tiers", "tiers are given exactly when kind is tiers")
        if (k is AudienceKind.SEGMENT) != bool(segment_id):
            raise InvalidArgument("audience.segment_id", "segment_id is given exactly when kind is segment")
        return cls(k, t, segment_id)

    def admits(self, tier: str, in_segment: bool = False) -> bool:
        """`in_segment` is the members service's answer for this audience's segment."""
        if self.kind is AudienceKind.TIERS:
            return tier in self.tiers
        return in_segment if self.kind is AudienceKind.SEGMENT else True


class TemplateState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


_ALLOWED = {
    (TemplateState.DRAFT, TemplateState.ACTIVE),
    (TemplateState.ACTIVE, TemplateState.PAUSED),
    (TemplateState.PAUSED, TemplateState.ACTIVE),
    (TemplateState.DRAFT, TemplateState.ENDED),
    (TemplateState.ACTIVE, TemplateState.ENDED),
    (TemplateState.PAUSED, TemplateState.ENDED),
}


def transition(current: TemplateState, target: TemplateState) -> TemplateState:
    """draft → active ⇄ paused, any of them → ended; ended is final."""
    if (current, target) in _ALLOWED:
        return target
    if current is target:
        raise FailedPrecondition(f"the template is already {current}")
    if current is TemplateState.ENDED:
        verb = "reactivated" if target is TemplateState.ACTIVE else f"made {target}"
        raise FailedPrecondition(f"an ended template cannot be {verb}")
    if target is TemplateState.DRAFT:
        raise FailedPrecondition(f"a template that went live ({current}) cannot go back to draft")
    raise FailedPrecondition(f"a {current} template cannot be {target}; activate it first")


@dataclass(frozen=True)
class Terms:
    """What one coupon gives, copied onto it at issue so later template edits never change it."""

    template_id: str
    template_version: int
    name: str
    benefit: Benefit
    scope: Scope
    stackable: bool
    shareable: bool


@dataclass(frozen=True)
class Template:
    """A coupon template; build with `Template.parse`. Booleans default to False like proto3."""

    id: str
    tenant_id: str
    name: str
    description: str
    benefit: Benefit
    scope: Scope
    validity: Validity
    limits: Limits
    audience: Audience
    claimable: bool
    shareable: bool
    stackable: bool  # False = exclusive: used alone
    state: TemplateState
    created_at: datetime
    version: int = 1

    @classmethod
    def parse(
        cls,
        *,
        id: str,
        tenant_id: str,
        name: str,
        benefit: Benefit,
        validity: Validity,
        created_at: datetime,
        description: str = "",
        scope: Scope | None = None,
        limits: Limits | None = None,
        audience: Audience | None = None,
        claimable: bool = False,
        shareable: bool = False,
        stackable: bool = False,
        state: TemplateState = TemplateState.DRAFT,
        version: int = 1,
    ) -> Template:
        if not id or not tenant_id:
            raise ValueError("id and tenant_id are required")
        if created_at.tzinfo is None or created_at.utcoffset() is None:
            raise ValueError("datetimes must be timezone-aware")
        scope = scope or Scope()
        _check_gift_in_scope(benefit, scope)
        return cls(
            id=id,
            tenant_id=tenant_id,
            name=_name(name),
            description=_description(description),
            benefit=benefit,
            scope=scope,
            validity=validity,
            limits=limits or Limits(),
            audience=audience or Audience(),
            claimable=claimable,
            shareable=shareable,
            stackable=stackable,
            state=TemplateState(state),
            created_at=created_at,
            version=version,
        )

    def terms(self) -> Terms:
        return Terms(
            self.id, self.version, self.name, self.benefit, self.scope, self.stackable, self.shareable
        )


_LOCKED_ONCE_LIVE = ("benefit", "scope", "stackable")


def edit(
    template: Template,
    *,
    already_issued: int = 0,
    name: str | None = None,
    description: str | None = None,
    benefit: Benefit | None = None,
    scope: Scope | None = None,
    stackable: bool | None = None,
    validity: Validity | None = None,
    limits: Limits | None = None,
    audience: Audience | None = None,
    claimable: bool | None = None,
    shareable: bool | None = None,
) -> Template:
    """The template with the given changes (None = keep) and the next version; unchanged if none.

    A draft may change anything. Once live, what a coupon *gives* (benefit, scope, stacking)
    is fixed, because coupons already out carry those terms and two coupons of one template
    should not mean different things; how many, to whom and when may still change.
    `already_issued` is the count of coupons out, which `total_stock` may not go below.
    """
    if template.state is TemplateState.ENDED:
        raise FailedPrecondition("an ended template cannot be edited")
    if name is not None:
        name = _name(name)
    if description is not None:
        description = _description(description)
    asked: dict[str, Any] = {
        "name": name,
        "description": description,
        "benefit": benefit,
        "scope": scope,
        "stackable": stackable,
        "validity": validity,
        "limits": limits,
        "audience": audience,
        "claimable": claimable,
        "shareable": shareable,
    }
    changes = {k: v for k, v in asked.items() if v is not None and v != getattr(template, k)}
    if template.state is not TemplateState.DRAFT:
        for locked in _LOCKED_ONCE_LIVE:
            if locked in changes:
                raise FailedPrecondition(
                    f"{locked} cannot change once the template has gone live; end it and create a new one"
                )
    if limits is not None and 0 < limits.total_stock < already_issued:
        raise InvalidArgument(
            "limits.total_stock", f"total_stock cannot go below the {already_issued} coupons already issued"
        )
    if not changes:
        return template
    _check_gift_in_scope(changes.get("benefit", template.benefit), changes.get("scope", template.scope))
    return replace(template, **changes, version=template.version + 1)


def _check_gift_in_scope(benefit: Benefit, scope: Scope) -> None:
    sku = benefit.gift_sku
    if sku and (sku in scope.exclude_skus or (scope.include_skus and sku not in scope.include_skus)):
        raise InvalidArgument("benefit.gift_sku", f"gift SKU {sku!r} is outside the coupon's scope")


def _name(raw: str) -> str:
    name = _text("name", " ".join(raw.split()), NAME_MAX)
    if not name:
        raise InvalidArgument("name", "name is required")
    return name


def _description(raw: str) -> str:
    return _text("description", raw.strip(), DESCRIPTION_MAX)


def _money(field: str, value: int) -> None:
    """Amounts and counts: 0 = none/unlimited, and they must fit the stored 64-bit integer."""
    if value < 0:
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} must not be negative")
    if value > MAX_MONEY:
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} is too large")


def _text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} is longer than {limit} characters")
    if any(not c.isprintable() for c in value):
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} must not contain control characters")
    return value


def _key(value: str, fold: bool) -> str:
    return " ".join(value.casefold().split()) if fold else value


def _name_list(field: str, raw: Iterable[str], *, fold: bool) -> tuple[str, ...]:
    """Stripped, de-duplicated (first spelling kept), non-empty, bounded in length and count."""
    if isinstance(raw, str):  # a bare string would otherwise be read letter by letter
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} must be a list")
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        value = _text(f"{field}[{i}]", item, ID_MAX)
        if not value:
            raise InvalidArgument(f"{field}[{i}]", "entries must not be empty")
        seen.setdefault(_key(value, fold), value)
        if len(seen) > LIST_MAX:
            raise InvalidArgument(field, f"at most {LIST_MAX} entries")
    return tuple(seen.values())


@dataclass(frozen=True)
class StoredTemplate:
    """A template with what is kept beside its terms: whether a refunded coupon stays spent,
    the budget of discount used so far, and whether its segment audience has been copied in."""

    template: Template
    stays_spent_on_refund: bool = False
    budget_used: int = 0
    audience_ready: bool = False

    @property
    def audience_known(self) -> bool:
        """Whether claims may check the audience now (only a segment audience must be copied in)."""
        return self.audience_ready or self.template.audience.kind is not AudienceKind.SEGMENT
