"""Ids derived from what makes a thing one thing, so a retry or a replay finds it again. No I/O.

A review is one per (tenant, member, request id): a client retrying a post names the same
review. A case is one per what opened it: (tenant, "review", review id) for a review's case, so
opening it from the post and again from review_posted makes one; (tenant, "request", request
id) for a case opened directly; (tenant, "survey", survey id) for the case a survey's answer
opens. A satisfaction survey is one per (tenant, purchase id), so a redelivered purchase_made
schedules nothing more; a thread (a question or a suggestion) one per (tenant, member, request
id), as a review; a message in a thread one per (thread, request id). The store keeps ids
unique, so an insert-once of the derived id decides which of two attempts created it.

Ids are 26 characters of base32 (A-Z, 2-7): safe in keys, field names and the members ledger's
source ids.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode

_SEPARATOR = "\x1f"


def derived_id(*parts: str) -> str:
    """26 base32 characters of sha256 of the parts (130 bits): the same parts, the same id."""
    if any(_SEPARATOR in part for part in parts):
        raise ValueError("key parts must not contain the unit separator")
    digest = hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).digest()
    return b32encode(digest).decode()[:26]


def review_key(tenant_id: str, member_id: str, request_id: str) -> str:
    return derived_id(tenant_id, "review", member_id, request_id)


def case_key(tenant_id: str, source: str, ref: str) -> str:
    """The case opened by `source` ("review" with the review id, "request" with the client's
    request id)."""
    return derived_id(tenant_id, "case", source, ref)


def survey_key(tenant_id: str, purchase_id: str) -> str:
    """The satisfaction survey of a purchase."""
    return derived_id(tenant_id, "survey", purchase_id)


def thread_key(tenant_id: str, member_id: str, request_id: str) -> str:
    return derived_id(tenant_id, "thread", member_id, request_id)


def message_key(thread_id: str, request_id: str) -> str:
    return derived_id(thread_id, "message", request_id)


def step_message_key(thread_id: str, step: str) -> str:
    """The message a step of a thread posts ("opening", "adopted", "closing"): never one a
    client's request id names."""
    return derived_id(thread_id, "step", step)
