"""The ids under which limits and budget charges are recorded. No I/O.

Every coupon a member may hold is a limit slot `<template>:m:<member>:<k>` (and
`<template>:p:<member>:<period>:<k>` per period); a coupon takes one before it exists, so the
limits hold under any concurrency (see adapters/slots_mongo.py). A redemption's budget charge is
recorded under a key of (coupon, receipt), so a retry is charged once and a refund gives back
exactly that charge.
"""

from __future__ import annotations

import hashlib


def member_slot(template_id: str, member_id: str, k: int) -> str:
    return f"{template_id}:m:{member_id}:{k}"


def period_slot(template_id: str, member_id: str, period: str, k: int) -> str:
    return f"{template_id}:p:{member_id}:{period}:{k}"


def is_limit_slot(slot_id: str) -> bool:
    return ":m:" in slot_id or ":p:" in slot_id


def budget_key(coupon_id: str, receipt_no: str) -> str:
    """A field-name-safe key of one redemption (receipt numbers may hold dots)."""
    return f"{coupon_id}_{hashlib.sha256(receipt_no.encode()).hexdigest()[:16]}"
