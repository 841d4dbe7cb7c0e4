"""Tracked links: a message's link to a url becomes the gateway's `/r/{token}`, and a tap on it
(or the member reading the message in the inbox) is the member engaging with the message.

A token is HMAC-SHA256(secret, message id + "\\n" + url), its first 80 bits in lowercase
base32: 16 characters an SMS can carry, the same for the same message and url (a retried
render stores nothing new), and impossible to guess or to forge for another url without the
secret — so `/r/{token}` needs no login and redirects only where one of our messages pointed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from chassis.errors import InvalidArgument
from services.messaging.domain.messages import Message

TOKEN_LENGTH = 16
TOKEN_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
URL_MAX = 2048
USER_AGENT_MAX = 512


def token_for(secret: bytes, message_id: str, url: str) -> str:
    digest = hmac.new(secret, f"{message_id}\n{url}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def well_formed(token: str) -> bool:
    """Whether `token` could be one of ours (length and alphabet): anything else is not looked up."""
    return len(token) == TOKEN_LENGTH and all(ch in TOKEN_ALPHABET for ch in token)


def checked_url(url: str) -> str:
    """An absolute http(s) url: what a redirect may point to."""
    parts = urlsplit(url)
    if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            "url", f"a tracked link must be an absolute http(s) url of at most {URL_MAX} characters"
        )
    if any(ord(ch) < 33 for ch in url):
        raise InvalidArgument("url", "a tracked link must not contain spaces or control characters")
    return url


@dataclass(frozen=True)
class Link:
    """What a tap on a token leads to, and what of its message attribution needs. An inbox read is
    the same with `url` "" (the message itself was opened)."""

    token: str
    tenant_id: str
    message_id: str
    member_id: str
    template_id: str
    channel: str
    staff_id: str
    store_id: str
    message_class: str
    message_created_at: datetime
    url: str
    created_at: datetime


def link_of(message: Message, token: str, url: str, now: datetime) -> Link:
    return Link(
        token=token,
        tenant_id=message.tenant_id,
        message_id=message.id,
        member_id=message.member_id,
        template_id=message.template_id,
        channel=message.channel.value if message.channel else "",
        staff_id=message.staff_id,
        store_id=message.store_id,
        message_class=message.message_class.value,
        message_created_at=message.created_at,
        url=url,
        created_at=now,
    )


def user_agent(raw: str) -> str:
    """What is kept of the browser's User-Agent: printable, bounded."""
    return "".join(ch for ch in raw if ch.isprintable())[:USER_AGENT_MAX]
