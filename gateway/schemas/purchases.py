"""Bodies of the purchase and points routes. Money is in minor units (fen, cents)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.schemas.common import UtcTimestamp

_LINE: dict[str, JsonValue] = {
    "sku": "LIP-01",
    "brand": "Rouge Co",
    "category": "Lipstick",
    "quantity": 1,
    "list_price": 32000,
    "paid_price": 28800,
}
_PURCHASE: dict[str, JsonValue] = {
    "id": "9f2c4e1a0b7d4c3e8a6f5b2d1c0e9a8b",
    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
    "store_id": "sh-01",
    "receipt_no": "R-20261123-0001",
    "served_by_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
    "credited_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
    "lines": [_LINE],
    "coupon_codes": [],
    "currency": "CNY",
    "total_list": 32000,
    "total_paid": 28800,
    "points_awarded": 288,
    "occurred_at": "2026-11-23T10:00:00Z",
    "created": True,
    "programme_version": 3,
    "points_shares": [{"source": "base", "rule_id": None, "points": 288}],
    "payments": [{"type": "wechat_pay", "amount": 28800}],
}


class PurchaseLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(max_length=64)
    brand: str = Field(default="", max_length=64)
    category: str = Field(default="", max_length=64)
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    list_price: int = Field(ge=0, le=10**12, description="Line total before discounts, minor units")
    paid_price: int = Field(ge=0, le=10**12, description="Line total paid, minor units")


class PaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        min_length=1,
        max_length=32,
        description='How it was paid, e.g. "cash", "card", "wechat_pay", "alipay", "gift_card", "points"',
    )
    amount: int = Field(ge=0, le=10**12, description="Minor units")


class PointsShareOut(BaseModel):
    """One reason for points: the base rate, the birthday multiplier, or an earning rule."""

    source: str = Field(description='"base", "birthday" or "rule"')
    rule_id: str | None = Field(description="The earning rule's id, for a rule's share")
    points: int


class RecordPurchaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "store_id": "sh-01",
                    "receipt_no": "R-20261123-0001",
                    "served_by_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                    "lines": [_LINE],
                    "coupon_codes": [],
                    "occurred_at": "2026-11-23T10:00:00Z",
                    "currency": "CNY",
                    "payments": [{"type": "wechat_pay", "amount": 28800}],
                }
            ]
        },
    )

    member_id: str = Field(min_length=1, max_length=64)
    store_id: str = Field(max_length=64)
    receipt_no: str = Field(
        max_length=64, description="Unique per store; retries with it record nothing twice"
    )
    served_by_staff_id: str = Field(default="", max_length=64)
    lines: list[PurchaseLineBody] = Field(max_length=200)
    coupon_codes: list[str] = Field(default_factory=list, max_length=50)
    occurred_at: UtcTimestamp
    currency: str = Field(default="CNY", max_length=3)
    payments: list[PaymentBody] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "How the receipt was paid, adding up to the amount paid. When the programme earns on some "
            "payment types only, only their share earns; none given: all of it earns."
        ),
    )


class PurchaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PURCHASE]})

    id: str
    member_id: str
    store_id: str
    receipt_no: str
    served_by_staff_id: str
    credited_staff_id: str = Field(
        description="The member's owning assistant at purchase time, else who served"
    )
    lines: list[PurchaseLineBody]
    coupon_codes: list[str]
    currency: str
    total_list: int
    total_paid: int
    points_awarded: int
    occurred_at: datetime
    created: bool = Field(description="False when this receipt was already recorded (a retry)")
    programme_version: int = Field(description="The version of the loyalty programme it was scored under")
    points_shares: list[PointsShareOut] = Field(description="Why it earned what it did, share by share")
    payments: list[PaymentBody]


class PointsEntryOut(BaseModel):
    id: str
    delta: int
    reason: str
    source: str
    at: datetime
    shares: list[PointsShareOut] = Field(
        default_factory=list,
        description="For a purchase: why it earned what it did (base, birthday, each earning rule)",
    )


class PointsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "balance": 288,
                    "tier": "normal",
                    "entries": [
                        {
                            "id": "demo:purchase:9f2c",
                            "delta": 288,
                            "reason": "purchase",
                            "source": "purchase:9f2c",
                            "at": "2026-11-23T10:00:00Z",
                            "shares": [{"source": "base", "rule_id": None, "points": 288}],
                        }
                    ],
                }
            ]
        }
    )

    member_id: str
    balance: int
    tier: str
    entries: list[PointsEntryOut] = Field(description="Latest ledger entries, newest first")


class RefundLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(max_length=64)
    quantity: int = Field(default=0, ge=0, le=1_000_000, description="Items returned (0: money only)")
    amount: int = Field(ge=0, le=10**12, description="Money given back, minor units")


class RefundBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "refund_id": "RF-20261124-0001",
                    "lines": [{"sku": "LIP-01", "quantity": 1, "amount": 28800}],
                    "occurred_at": "2026-11-24T10:00:00Z",
                }
            ]
        },
    )

    refund_id: str = Field(
        min_length=1, max_length=64, description="The till's refund number; retries are safe"
    )
    lines: list[RefundLineBody] | None = Field(
        default=None, max_length=200, description="Omit to refund everything not refunded yet"
    )
    occurred_at: UtcTimestamp


class RefundOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchase_id": "9f2c4e1a0b7d4c3e8a6f5b2d1c0e9a8b",
                    "refund_id": "RF-20261124-0001",
                    "lines": [{"sku": "LIP-01", "quantity": 1, "amount": 28800}],
                    "currency": "CNY",
                    "amount": 28800,
                    "points_reversed": 288,
                    "created": True,
                }
            ]
        }
    )

    purchase_id: str
    refund_id: str
    lines: list[RefundLineBody]
    currency: str
    amount: int
    points_reversed: int
    created: bool = Field(description="False when this refund id was already recorded (a retry)")


class PointsEntryBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"delta": 5, "reason": "sign_in", "source_id": "2026-11-23"},
                {"delta": -500, "reason": "gift_redemption", "source_id": "gift-order-8812"},
            ]
        },
    )

    delta: int = Field(
        ge=-1_000_000, le=1_000_000, description="Points to add (positive) or take (negative); not zero"
    )
    reason: Literal["sign_in", "review", "survey_answer", "share", "gift_redemption", "manual_adjustment"]
    source_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_:\-]+$",
        description="What caused it (the day of a sign-in, the review id, the gift order): counted once",
    )


class PointsEntryResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"balance": 293, "applied": True}]})

    balance: int
    applied: bool = Field(description="False when this source was already counted: nothing changed")
