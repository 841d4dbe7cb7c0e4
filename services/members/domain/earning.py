"""Earning rules on top of a programme's base rate, and what a purchase earns. No I/O here.

An earning rule is a promotion in the manner of Open Loyalty's earning rules or Salesforce
Loyalty's promotions: "double points on brand X from Friday to Sunday", "+200 points for a
first purchase in store Y", "3× on category Z for gold members", each with a validity window,
a cap per member and an active flag.

`score` is the one function that says what a purchase earns: the till's preview ("what would
this cart earn for this member now?") and the recording of the purchase call it with the same
facts, so they agree. Its result lists each share (the base, the birthday, each rule), which is
what the member's points history shows and what a refund takes back (`reverse`): the stored
`Scored` of the purchase is the input, so changing the rules later changes nothing already
earned.

How several rules combine, plainly:
- base points: the programme's rate on the purchase's earning amount (see `score`);
- birthday: (multiplier - 1) × the base points, on the base only;
- a multiplier rule: (multiplier - 1) × the base points of the lines it matches (the
  programme's rate on those lines' earning amount), so 2× and 3× on one line give
  base + 1×base + 2×base: extras add, they do not compound;
- a bonus rule: its fixed points once per purchase, when a matching line was paid for by
  money that earns (a free sample earns no bonus);
- each rule's share is cut to what its cap per member still allows (held exact under purchases
  at the same instant by a reservation: domain/rule_caps.py);
- rules are taken in order of id, so the shares come out in the same order every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from chassis.errors import InvalidArgument
from chassis.fields import Fields, prefixed, text
from services.members.domain import points as pts
from services.members.domain.programme import Basis, Programme, in_birthday_window, local, payment_type_key
from services.members.domain.purchases import Line, Payment, Purchase, brand_key, category_key

RULE_ID_MAX = 64
RULE_NAME_MAX = 100
MAX_RULES = 100
MAX_FILTER_ITEMS = 1_000
FILTER_TEXT_MAX = 64  # the purchase's own limit on ids, brands and categories
MIN_MULTIPLIER = 2
MAX_MULTIPLIER = 100
MAX_BONUS = 1_000_000
MAX_CAP = 1_000_000_000
MAX_MONEY = 2**63 - 1


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def iso(self) -> int:
        """1 for Monday to 7 for Sunday, as date.isoweekday()."""
        return list(Weekday).index(self) + 1


@dataclass(frozen=True)
class Multiplier:
    """The matching lines' base points count `factor` times (the rule adds factor - 1 of them)."""

    factor: int


@dataclass(frozen=True)
class Bonus:
    """Fixed points, once per purchase."""

    points: int


Effect = Multiplier | Bonus


@dataclass(frozen=True)
class EarningRule:
    """One earning rule of a tenant; every filter left empty means "any".

    `valid_from` is inclusive, `valid_until` exclusive (None: no bound). `days_of_week` are
    judged on the tenant's clock. `brands`/`categories` are compared as purchases key them
    (`brand_key`: case and spacing do not matter), `stores`/`tiers`/`skus` exactly. A line
    matches when it passes every line filter (brands, categories and skus). Errors name fields
    relative to the rule ("multiplier", "stores[2]").
    """

    id: str
    name: str
    effect: Effect
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    days_of_week: frozenset[Weekday] = frozenset()
    stores: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    first_purchase_in_store: bool = False
    cap_per_member: int | None = None
    active: bool = True
    # Derived once, for matching: the brand and category keys, the ISO days.
    _brand_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _category_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _iso_days: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_brand_keys", frozenset(brand_key(b) for b in self.brands))
        object.__setattr__(self, "_category_keys", frozenset(category_key(c) for c in self.categories))
        object.__setattr__(self, "_iso_days", frozenset(d.iso for d in self.days_of_week))
        if (
            not self.id
            or len(self.id) > RULE_ID_MAX
            or not self.id.isprintable()
            or any(c.isspace() for c in self.id)
        ):
            raise InvalidArgument("id", f"id is 1 to {RULE_ID_MAX} printable characters without spaces")
        if not self.name.strip() or len(self.name) > RULE_NAME_MAX:
            raise InvalidArgument("name", f"name is required, at most {RULE_NAME_MAX} characters")
        if isinstance(self.effect, Multiplier):
            if not MIN_MULTIPLIER <= self.effect.factor <= MAX_MULTIPLIER:
                raise InvalidArgument(
                    "multiplier", f"multiplier must be between {MIN_MULTIPLIER} and {MAX_MULTIPLIER}"
                )
        elif not 1 <= self.effect.points <= MAX_BONUS:
            raise InvalidArgument("bonus_points", f"bonus_points must be between 1 and {MAX_BONUS}")
        for name, moment in (("valid_from", self.valid_from), ("valid_until", self.valid_until)):
            if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
                raise InvalidArgument(name, f"{name} must carry a time zone")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until <= self.valid_from
        ):
            raise InvalidArgument("valid_until", "valid_until must be after valid_from")
        if self.cap_per_member is not None and not 1 <= self.cap_per_member <= MAX_CAP:
            raise InvalidArgument("cap_per_member", f"cap_per_member must be between 1 and {MAX_CAP}")

    def in_force(self, programme: Programme, at: datetime) -> bool:
        """Active, inside its validity window and on one of its days (tenant's clock) at `at`."""
        if not self.active:
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        if self.valid_until is not None and at >= self.valid_until:
            return False
        return not self._iso_days or local(programme, at).isoweekday() in self._iso_days

    def matches_line(self, line: Line) -> bool:
        if self.skus and line.sku not in self.skus:
            return False
        if self._brand_keys and brand_key(line.brand) not in self._brand_keys:
            return False
        return not self._category_keys or category_key(line.category) in self._category_keys


@dataclass(frozen=True)
class PurchaseFacts:
    """What a purchase (or a till's cart, for a preview) is, as far as earning cares."""

    store_id: str
    lines: tuple[Line, ...]
    payments: tuple[Payment, ...] = ()

    @classmethod
    def of(cls, purchase: Purchase, payments: Iterable[Payment] = ()) -> PurchaseFacts:
        return cls(purchase.store_id, purchase.lines, tuple(payments))

    @property
    def total_paid(self) -> int:
        return sum(line.paid_price for line in self.lines)


@dataclass(frozen=True)
class MemberFacts:
    """The member as they walked in: `tier` before this purchase ("" = not yet placed, taken as
    the ladder's lowest), birthday (month, day) if known, whether this is their first purchase
    in the purchase's store, and the points each capped rule has already given them."""

    tier: str = ""
    birthday: tuple[int, int] | None = None
    first_purchase_in_store: bool = False
    rule_points_given: Mapping[str, int] = field(default_factory=dict)


class ShareSource(StrEnum):
    BASE = "base"
    BIRTHDAY = "birthday"
    RULE = "rule"


@dataclass(frozen=True)
class Share:
    """Points from one source; `rule_id` names the rule for a rule's share, else ""."""

    source: ShareSource
    rule_id: str
    points: int

    @property
    def key(self) -> tuple[ShareSource, str]:
        return (self.source, self.rule_id)


@dataclass(frozen=True)
class Scored:
    """Points split by where they came from: the base share first (always there, maybe 0),
    then the birthday share, then each rule's, by rule id; shares of 0 beyond the base are
    left out. Also the form of a reversal (`reverse`): the points each share loses."""

    shares: tuple[Share, ...]

    @property
    def base(self) -> int:
        return sum(s.points for s in self.shares if s.source is ShareSource.BASE)

    @property
    def birthday(self) -> int:
        return sum(s.points for s in self.shares if s.source is ShareSource.BIRTHDAY)

    @property
    def total(self) -> int:
        return sum(s.points for s in self.shares)

    def by_rule(self) -> dict[str, int]:
        """Points per rule id: what to add to the member's per-rule counters for caps."""
        out: dict[str, int] = {}
        for s in self.shares:
            if s.source is ShareSource.RULE:
                out[s.rule_id] = out.get(s.rule_id, 0) + s.points
        return out

    def with_rule_points(self, points: Mapping[str, int], rule_ids: Iterable[str]) -> Scored:
        """These rules' shares replaced by `points` (0 for a rule it does not name)."""
        replaced = set(rule_ids)
        totals = {s.key: s.points for s in self.shares if s.rule_id not in replaced}
        totals |= {(ShareSource.RULE, rule): points.get(rule, 0) for rule in replaced}
        return _scored(totals)

    def plus(self, other: Scored) -> Scored:
        """Both added share by share (e.g. the reversals so far)."""
        totals: dict[tuple[ShareSource, str], int] = {}
        for s in (*self.shares, *other.shares):
            totals[s.key] = totals.get(s.key, 0) + s.points
        return _scored(totals)


def score(
    programme: Programme,
    rules: Sequence[EarningRule],
    purchase: PurchaseFacts,
    member: MemberFacts,
    at: datetime,
) -> Scored:
    """What `purchase` earns `member` at `at` (the purchase's time; for a preview, now).

    The earning amount of a line is its price on the programme's basis (paid or list) times
    the share of the purchase paid by earning payment types (all of it when the programme
    names none; nothing earns when it names some and the purchase reports no payments). Base
    points are the rounded units of the purchase's earning amount times the rate; rounding
    once on the total keeps the default equal to points.points_for_purchase.

    Tier filters use the tier *before* the purchase: the one on the member's card when they
    reach the till, which the preview can know and the receipt can print, so the preview and
    the recorded purchase agree and a purchase cannot boost itself with the tier it earns.
    The birthday window and days of week are judged on the tenant's clock.
    """
    at = _aware("at", at)
    if len({rule.id for rule in rules}) != len(rules):
        raise ValueError("rule ids must be unique")
    earning = _earning_share(programme, purchase)
    basis = programme.points.basis
    amounts = [
        (line.list_price if basis is Basis.LIST else line.paid_price) * earning for line in purchase.lines
    ]
    rate = programme.points
    base = rate.points_for(sum(amounts, Fraction(0)))
    totals: dict[tuple[ShareSource, str], int] = {(ShareSource.BASE, ""): base}
    bday = programme.birthday
    if (
        member.birthday is not None
        and bday.multiplier > 1
        and in_birthday_window(programme, member.birthday, at)
    ):
        totals[(ShareSource.BIRTHDAY, "")] = base * (bday.multiplier - 1)
    tier = member.tier or programme.ladder.names[0]
    for rule in sorted(rules, key=lambda r: r.id):
        if not _applies(rule, programme, purchase, member, tier, at):
            continue
        matching = [i for i, line in enumerate(purchase.lines) if rule.matches_line(line)]
        if isinstance(rule.effect, Multiplier):
            earned = (rule.effect.factor - 1) * rate.points_for(
                sum((amounts[i] for i in matching), Fraction(0))
            )
        else:
            paid = sum((purchase.lines[i].paid_price * earning for i in matching), Fraction(0))
            earned = rule.effect.points if paid > 0 else 0
        if rule.cap_per_member is not None:
            left = rule.cap_per_member - member.rule_points_given.get(rule.id, 0)
            earned = min(earned, max(0, left))
        totals[(ShareSource.RULE, rule.id)] = earned
    return _scored(totals)


def reverse(
    earned: Scored,
    purchase_paid: int,
    refund_amount: int,
    *,
    already_refunded: int = 0,
    already_reversed: Scored | None = None,
) -> Scored:
    """The points each share of a purchase loses to a refund of `refund_amount`.

    `earned` is the purchase's stored `Scored` (so later rule changes do not matter);
    `already_*` are the earlier refunds' money and (summed, `Scored.plus`) reversals. Each
    share is reversed like points.points_to_reverse on the running total: after this refund
    floor(share × refunded / paid) of it is gone, so partial refunds never take more than
    their share and the refund that completes the purchase takes exactly what is left.
    """
    before = {} if already_reversed is None else {s.key: s.points for s in already_reversed.shares}
    totals: dict[tuple[ShareSource, str], int] = {}
    for share in earned.shares:
        totals[share.key] = totals.get(share.key, 0) + share.points
    out = {
        key: pts.points_to_reverse(
            points,
            purchase_paid,
            refund_amount,
            already_refunded=already_refunded,
            already_reversed=before.get(key, 0),
        )
        for key, points in totals.items()
    }
    return _scored(out)


def scored_to_dict(scored: Scored) -> dict[str, Any]:
    """The stored form of a `Scored` (plain JSON values), read back by `parse_scored`."""
    return {
        "shares": [
            {"source": s.source.value, "rule_id": s.rule_id, "points": s.points} for s in scored.shares
        ]
    }


def parse_scored(data: object) -> Scored:
    top = Fields(data)
    shares: list[Share] = []
    for path, item in top.items("shares", MAX_RULES + 2):
        f = Fields(item, path)
        source = f.choice("source", ShareSource, ShareSource.BASE)
        rule_id = f.text("rule_id", "", RULE_ID_MAX)
        points = f.integer("points", 0, 0, MAX_MONEY)
        f.done()
        shares.append(Share(source, rule_id, points))
    top.done()
    return Scored(tuple(shares))


# --- the dict form of rules --------------------------------------------------------------------


def parse_rule(data: object, path: str = "") -> EarningRule:
    """A rule from its dict form: exactly one of "multiplier" and "bonus_points"; datetimes as
    ISO 8601 strings with an offset; "days_of_week" as "mon".."sun"; absent lists are empty."""
    f = Fields(data, path)
    rule_id = f.text("id", "", RULE_ID_MAX)
    if not rule_id:
        raise InvalidArgument(f.path("id"), "a rule needs an id")
    name = f.text("name", "", RULE_NAME_MAX)
    if not name:
        raise InvalidArgument(f.path("name"), "a rule needs a name")
    effect: Effect
    if f.has("multiplier") == f.has("bonus_points"):
        raise InvalidArgument(
            f.path("multiplier"), "a rule has either multiplier or bonus_points, not both or none"
        )
    if f.has("multiplier"):
        effect = Multiplier(f.integer("multiplier", 0, MIN_MULTIPLIER, MAX_MULTIPLIER))
        f.raw("bonus_points")
    else:
        effect = Bonus(f.integer("bonus_points", 0, 1, MAX_BONUS))
        f.raw("multiplier")
    days: set[Weekday] = set()
    for item_path, item in f.items("days_of_week", 7):
        day = _weekday(item_path, item)
        if day in days:
            raise InvalidArgument(item_path, f"{day.value} appears twice")
        days.add(day)
    valid_from = _moment(f, "valid_from")
    valid_until = _moment(f, "valid_until")
    stores = _names(f, "stores")
    tiers = _names(f, "tiers")
    brands = _names(f, "brands", brand_key)
    categories = _names(f, "categories", category_key)
    skus = _names(f, "skus")
    first_in_store = f.boolean("first_purchase_in_store", False)
    cap = f.optional_integer("cap_per_member", 1, MAX_CAP)
    active = f.boolean("active", True)
    f.done()
    with prefixed(path):
        return EarningRule(
            id=rule_id,
            name=name,
            effect=effect,
            valid_from=valid_from,
            valid_until=valid_until,
            days_of_week=frozenset(days),
            stores=stores,
            tiers=tiers,
            brands=brands,
            categories=categories,
            skus=skus,
            first_purchase_in_store=first_in_store,
            cap_per_member=cap,
            active=active,
        )


def parse_rules(data: object, programme: Programme, path: str = "earning_rules") -> tuple[EarningRule, ...]:
    """A tenant's rules from a list of dicts, checked together (`check_rules`)."""
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Sequence):
        raise InvalidArgument(path, f"{path} must be a list")
    if len(data) > MAX_RULES:
        raise InvalidArgument(path, f"a tenant has at most {MAX_RULES} earning rules")
    rules = tuple(parse_rule(item, f"{path}[{i}]") for i, item in enumerate(data))
    check_rules(programme, rules, path)
    return rules


def check_rules(programme: Programme, rules: Sequence[EarningRule], path: str = "earning_rules") -> None:
    """Rules that belong together: unique ids, and tiers that are on the programme's ladder
    (also worth asking before a ladder change that would strand a rule's tier)."""
    if len(rules) > MAX_RULES:
        raise InvalidArgument(path, f"a tenant has at most {MAX_RULES} earning rules")
    seen: set[str] = set()
    ladder = set(programme.ladder.names)
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise InvalidArgument(f"{path}[{i}].id", f"rule id {rule.id!r} appears twice")
        seen.add(rule.id)
        for j, tier in enumerate(sorted(rule.tiers)):
            if tier not in ladder:
                raise InvalidArgument(f"{path}[{i}].tiers[{j}]", f"tier {tier!r} is not on the ladder")


def rule_to_dict(rule: EarningRule) -> dict[str, Any]:
    """The dict form (plain JSON values) that `parse_rule` reads back to an equal rule."""
    out: dict[str, Any] = {"id": rule.id, "name": rule.name}
    if isinstance(rule.effect, Multiplier):
        out["multiplier"] = rule.effect.factor
    else:
        out["bonus_points"] = rule.effect.points
    out.update(
        valid_from=None if rule.valid_from is None else rule.valid_from.astimezone(UTC).isoformat(),
        valid_until=None if rule.valid_until is None else rule.valid_until.astimezone(UTC).isoformat(),
        days_of_week=[d.value for d in Weekday if d in rule.days_of_week],
        stores=sorted(rule.stores),
        tiers=sorted(rule.tiers),
        brands=sorted(rule.brands),
        categories=sorted(rule.categories),
        skus=sorted(rule.skus),
        first_purchase_in_store=rule.first_purchase_in_store,
        cap_per_member=rule.cap_per_member,
        active=rule.active,
    )
    return out


def _applies(
    rule: EarningRule,
    programme: Programme,
    purchase: PurchaseFacts,
    member: MemberFacts,
    tier: str,
    at: datetime,
) -> bool:
    if not rule.in_force(programme, at):
        return False
    if rule.stores and purchase.store_id not in rule.stores:
        return False
    if rule.tiers and tier not in rule.tiers:
        return False
    if rule.first_purchase_in_store and not member.first_purchase_in_store:
        return False
    return any(rule.matches_line(line) for line in purchase.lines)


def _earning_share(programme: Programme, purchase: PurchaseFacts) -> Fraction:
    """The fraction of the purchase paid by payment types that earn."""
    paid = purchase.total_paid
    for i, payment in enumerate(purchase.payments):
        if not payment_type_key(payment.type):
            raise InvalidArgument(f"payments[{i}].type", "a payment needs a type")
        if not 0 <= payment.amount <= MAX_MONEY:
            raise InvalidArgument(f"payments[{i}].amount", "a payment's amount must not be negative")
    if purchase.payments and sum(p.amount for p in purchase.payments) != paid:
        raise InvalidArgument("payments", f"the payments must add up to the amount paid ({paid})")
    kinds = programme.points.earning_payment_types
    if not kinds:
        return Fraction(1)
    if paid == 0:
        return Fraction(0)
    earning = sum(p.amount for p in purchase.payments if payment_type_key(p.type) in kinds)
    return Fraction(earning, paid)


def _scored(totals: Mapping[tuple[ShareSource, str], int]) -> Scored:
    order = {ShareSource.BASE: 0, ShareSource.BIRTHDAY: 1, ShareSource.RULE: 2}
    shares = [
        Share(source, rule_id, points)
        for (source, rule_id), points in sorted(totals.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
        if points != 0 or source is ShareSource.BASE
    ]
    if not any(s.source is ShareSource.BASE for s in shares):
        shares.insert(0, Share(ShareSource.BASE, "", 0))
    return Scored(tuple(shares))


_DAY_NAMES = {d.value: d for d in Weekday} | {
    name: d
    for name, d in zip(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), Weekday, strict=True
    )
}


def _weekday(path: str, value: object) -> Weekday:
    if isinstance(value, str) and (day := _DAY_NAMES.get(value.strip().lower())) is not None:
        return day
    raise InvalidArgument(path, f"{path} must be one of: {', '.join(d.value for d in Weekday)}")


def _moment(f: Fields, key: str) -> datetime | None:
    value = f.raw(key)
    if value is None:
        return None
    path = f.path(key)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidArgument(path, f"{path} must be an ISO 8601 date and time with an offset") from exc
    if not isinstance(value, datetime):
        raise InvalidArgument(path, f"{path} must be an ISO 8601 date and time with an offset")
    return _aware(path, value).astimezone(UTC)


def _names(f: Fields, key: str, normal: Callable[[str], str] | None = None) -> frozenset[str]:
    """A filter list, none empty or twice. Ids are trimmed and kept exact; brands and
    categories (`normal` given) have their spaces collapsed as receipts do, and are unique
    as `normal` keys them."""
    out: dict[str, str] = {}
    for path, item in f.items(key, MAX_FILTER_ITEMS):
        value = text(path, item, FILTER_TEXT_MAX)
        if normal is not None:
            value = " ".join(value.split())
        if not value:
            raise InvalidArgument(path, f"{path} must not be empty")
        k = value if normal is None else normal(value)
        if k in out:
            raise InvalidArgument(path, f"{value!r} appears twice")
        out[k] = value
    return frozenset(out.values())


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(name, f"{name} must carry a time zone")
    return value
