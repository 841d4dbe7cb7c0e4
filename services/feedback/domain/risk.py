"""How likely a complainant is a professional extortionist, and why. No I/O.

The signals are the ones shops describe ("professional bad reviewers" open new accounts, move
the talk off the platform, target new shops and cheap fragile goods, ask for cash), above all
the one a review platform lacks and we have: whether the reviewer really bought at that store.
The service gathers them (members' profile, purchases and store directory, the value of the
purchase a complaint names as purchase_made told it, the delivery city a complainant gives,
the tenant's other reviews); `score`
weighs them with the named weights below, caps the sum at 100 and says, in one sentence per
signal, why. A score at or above the tenant's threshold needs a manager's decision before any
compensation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Weights: what each signal adds to the score (0-100 once capped).
NO_PURCHASE_AT_STORE = 35  # the strongest: no receipt of theirs at that store
NOT_A_MEMBER = 35  # members does not know the reviewer at all
NEW_ACCOUNT = 15  # joined at most NEW_ACCOUNT_DAYS before
FEW_PURCHASES = 10  # no or one purchase anywhere in the chain
OFF_PLATFORM = 20  # a WeChat id, a phone number, "add me"
NEW_STORE = 10  # the store opened at most NEW_STORE_DAYS before
CHEAP_GOODS = 5  # what was bought is worth at most CHEAP_GOODS_MAX
FRAGILE_GOODS = 5  # claims something arrived broken or cracked
MANY_BAD_REVIEWS = 20  # MANY_BAD_REVIEWS_COUNT bad reviews at 2+ stores within RECENT_DAYS
DEMANDS_CASH = 20  # cash, a transfer, a red packet
REMOTE_ADDRESS = 5  # a delivery city where the chain has no store

NEW_ACCOUNT_DAYS = 7
NEW_STORE_DAYS = 90
CHEAP_GOODS_MAX = 3000  # ¥30, minor units
RECENT_DAYS = 30
MANY_BAD_REVIEWS_COUNT = 3

_OFF_PLATFORM = [
    re.compile(
        r"(微信|威信|薇信|wechat|weixin|\bvx\b|\bwx\b|v信)\s*(号|id)?\s*[:：]?\s*[a-z][-_a-z0-9]{5,19}", re.I
    ),
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),  # a mainland mobile number
    re.compile(r"\+\d[\d\s-]{7,}\d"),  # any international number
    re.compile(r"加我|加微信|加v|私聊|私信我|联系我|打我电话|add me|contact me|dm me|call me|text me", re.I),
]
_CASH = re.compile(
    r"现金|转账|打钱|打款|红包|支付宝|银行卡|\bcash\b|bank transfer|wire transfer|transfer (me|the money)"
    r"|pay me|paypal|venmo",
    re.I,
)
_FRAGILE = re.compile(r"碎了|破碎|裂了|裂开|破损|摔坏|\bbroken\b|\bcracked\b|\bshattered\b|\bsmashed\b", re.I)


class RiskDecision(StrEnum):
    NONE = ""
    APPROVED = "approved"
    EXTORTION_CONFIRMED = "extortion_confirmed"


@dataclass(frozen=True)
class MemberProfile:
    """What members tells us of a complainant."""

    joined_at: datetime
    purchase_count: int
    blacklisted: bool = False


@dataclass(frozen=True)
class RiskSignals:
    """What the service gathered about a complainant when the case opened; None = not known."""

    at: datetime
    text: str = ""
    profile: MemberProfile | None = None  # None: members has no such member
    purchased_at_store: bool | None = None  # None: no store to check (a product review)
    store_opened_at: datetime | None = None
    goods_value: int | None = None  # minor units
    recent_bad_reviews: int = 0  # the member's bad reviews in the tenant within RECENT_DAYS
    recent_bad_stores: int = 0  # at how many stores
    remote_address: bool = False  # the delivery city given is none of the stores' (remote_from)


@dataclass(frozen=True)
class RiskAssessment:
    score: int = 0
    reasons: tuple[str, ...] = ()
    needs_manager: bool = False
    decision: RiskDecision = RiskDecision.NONE
    decided_by: str = ""

    @property
    def cleared(self) -> bool:
        """Compensation may go ahead: no manager needed, or one approved it."""
        return not self.needs_manager or self.decision is RiskDecision.APPROVED


def off_platform(text: str) -> bool:
    return any(p.search(text) for p in _OFF_PLATFORM)


def demands_cash(text: str) -> bool:
    return bool(_CASH.search(text))


def claims_broken(text: str) -> bool:
    return bool(_FRAGILE.search(text))


def _city(name: str) -> str:
    return " ".join(name.casefold().split())


def remote_from(delivery_city: str, store_cities: Iterable[str]) -> bool:
    """Whether goods went to a city where the chain has no store: a delivery city given, the
    stores' cities known, and none of them it (compared ignoring case and spacing). Unknown
    (no city given, or no store with a city) is not remote."""
    cities = {_city(c) for c in store_cities if c.strip()}
    wanted = _city(delivery_city)
    return bool(wanted and cities and wanted not in cities)


def _days(n: int) -> str:
    return "today" if n <= 0 else ("1 day ago" if n == 1 else f"{n} days ago")


def score(signals: RiskSignals, threshold: int) -> RiskAssessment:
    """The score (0-100) of what the signals show, a sentence for each that counted, and
    whether it reaches `threshold` (at or above: a manager decides)."""
    found: list[tuple[int, str]] = []
    s = signals
    if s.profile is None:
        found.append((NOT_A_MEMBER, "not known as a member"))
    else:
        joined = (s.at - s.profile.joined_at).days
        if joined <= NEW_ACCOUNT_DAYS:
            found.append((NEW_ACCOUNT, f"joined {_days(joined)}"))
        if s.profile.purchase_count <= 1:
            found.append(
                (FEW_PURCHASES, "no purchases" if s.profile.purchase_count <= 0 else "one purchase only")
            )
    if s.purchased_at_store is False and s.profile is not None:
        found.append((NO_PURCHASE_AT_STORE, "no purchase at this store"))
    if off_platform(s.text):
        found.append((OFF_PLATFORM, "asks to move the conversation off the platform"))
    if demands_cash(s.text):
        found.append((DEMANDS_CASH, "demands cash or a transfer"))
    if s.store_opened_at is not None:
        age = (s.at - s.store_opened_at).days
        if age <= NEW_STORE_DAYS:
            found.append((NEW_STORE, f"targets a store that opened {_days(age)}"))
    if s.goods_value is not None and s.goods_value <= CHEAP_GOODS_MAX:
        found.append((CHEAP_GOODS, f"cheap goods (¥{s.goods_value / 100:.2f})"))
    if claims_broken(s.text):
        found.append((FRAGILE_GOODS, "claims fragile goods arrived broken"))
    if s.recent_bad_reviews >= MANY_BAD_REVIEWS_COUNT and s.recent_bad_stores >= 2:
        found.append(
            (
                MANY_BAD_REVIEWS,
                f"{s.recent_bad_reviews} bad reviews at {s.recent_bad_stores} stores "
                f"in the last {RECENT_DAYS} days",
            )
        )
    if s.remote_address:
        found.append((REMOTE_ADDRESS, "a remote delivery address"))
    total = min(100, sum(weight for weight, _ in found))
    reasons = tuple(reason for _, reason in sorted(found, key=lambda f: -f[0]))
    return RiskAssessment(score=total, reasons=reasons, needs_manager=total >= threshold)
