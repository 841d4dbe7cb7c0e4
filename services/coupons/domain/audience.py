"""What coupons knows of a member when deciding who may get a coupon. No I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemberView:
    tier: str = ""
    blacklisted: bool = False
    gone: bool = False  # erased or merged into another member
