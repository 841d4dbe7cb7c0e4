"""A member's review of a purchase or a product, the shop's public reply, and the member's own
amendments. No I/O.

A review stays as its member wrote it: only that member can amend it, and every earlier
version stays in its history, oldest first. The shop replies publicly; a reply quotes the
review as it stood when the shop wrote it, so a reply to an amended review still shows what
it answered. A second reply replaces the first, which moves to `earlier_replies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from chassis import fields
from chassis.errors import FailedPrecondition, InvalidArgument

TEXT_MAX = 2000
IMAGES_MAX = 9
URL_MAX = 2048
REF_MAX = 128  # store ids, receipt numbers, skus, who replied
CITY_MAX = 64


class RatingClass(StrEnum):
    GOOD = "good"  # 4-5
    MEDIUM = "medium"  # 3
    BAD = "bad"  # 1-2


class Channel(StrEnum):
    MINI_PROGRAM = "mini_program"
    STORE_APP = "store_app"


def rating_class(rating: int) -> RatingClass:
    if rating >= 4:
        return RatingClass.GOOD
    return RatingClass.MEDIUM if rating == 3 else RatingClass.BAD


@dataclass(frozen=True)
class ReviewVersion:
    """An earlier version of a review, as its member wrote it at `at`."""

    rating: int
    text: str
    image_urls: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Reply:
    """The shop's public reply, quoting the review as it stood."""

    text: str
    quoted_text: str
    quoted_rating: int
    by: str
    at: datetime


@dataclass(frozen=True)
class Review:
    id: str
    tenant_id: str
    member_id: str
    store_id: str
    receipt_no: str
    sku: str
    rating: int
    text: str
    image_urls: tuple[str, ...]
    channel: Channel
    posted_at: datetime
    updated_at: datetime | None = None  # when the current version was written, if amended
    history: tuple[ReviewVersion, ...] = ()
    reply: Reply | None = None
    earlier_replies: tuple[Reply, ...] = ()
    case_id: str = ""  # the case this review opens ("" when it opens none)
    verified_purchase: bool = False
    delivery_city: str = ""  # where the goods were delivered, when the member says (risk)
    erased_at: datetime | None = None  # the member was erased: content gone (domain.erasure)
    version: int = 1  # the store's guard: each change saves only on top of the version read

    @property
    def rating_class(self) -> RatingClass:
        return rating_class(self.rating)

    @property
    def written_at(self) -> datetime:
        return self.updated_at or self.posted_at


def parse_rating(rating: int, path: str = "rating") -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidArgument(path, f"{path} must be a whole number from 1 to 5")
    return rating


def parse_images(urls: Sequence[str], path: str = "image_urls") -> tuple[str, ...]:
    if len(urls) > IMAGES_MAX:
        raise InvalidArgument(path, f"a review has at most {IMAGES_MAX} images")
    parsed = []
    for i, raw in enumerate(urls):
        url = fields.text(f"{path}[{i}]", raw, URL_MAX)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc or " " in url:
            raise InvalidArgument(f"{path}[{i}]", f"{path}[{i}] must be an https:// link")
        parsed.append(url)
    return tuple(parsed)


def parse_city(city: str, path: str = "delivery_city") -> str:
    """The city goods were delivered to ("" when not given): one line, at most CITY_MAX."""
    return fields.text(path, city, CITY_MAX)


def refuse_if_erased(review: Review) -> None:
    if review.erased_at is not None:
        raise FailedPrecondition("the review's member was erased; it takes no more changes")


def parse_review(
    *,
    review_id: str,
    tenant_id: str,
    member_id: str,
    store_id: str,
    receipt_no: str,
    sku: str,
    rating: int,
    text: str,
    image_urls: Sequence[str],
    channel: str,
    posted_at: datetime,
    delivery_city: str = "",
) -> Review:
    """A new review, every field checked and named when wrong. About a receipt (its store and
    number), a store, or a product (sku): at least a store or a sku."""
    if not member_id.strip():
        raise InvalidArgument("member_id", "member_id is required")
    store = fields.text("store_id", store_id, REF_MAX)
    receipt = fields.text("receipt_no", receipt_no, REF_MAX)
    product = fields.text("sku", sku, REF_MAX)
    if receipt and not store:
        raise InvalidArgument("store_id", "a receipt number needs its store_id")
    if not store and not product:
        raise InvalidArgument("store_id", "name the store (and receipt) or the product (sku) reviewed")
    return Review(
        id=review_id,
        tenant_id=tenant_id,
        member_id=member_id.strip(),
        store_id=store,
        receipt_no=receipt,
        sku=product,
        rating=parse_rating(rating),
        text=fields.text("text", text, TEXT_MAX, multiline=True),
        image_urls=parse_images(image_urls),
        channel=fields.choice("channel", channel, Channel),
        posted_at=posted_at,
        delivery_city=parse_city(delivery_city),
    )


def amend(
    review: Review, member_id: str, rating: int, text: str, image_urls: Sequence[str], at: datetime
) -> Review:
    """The review as its member rewrote it, the version before kept in its history; the same
    review when nothing changes. Only the review's own member can amend it."""
    refuse_if_erased(review)
    if member_id.strip() != review.member_id:
        raise FailedPrecondition("only the member who wrote a review can amend it")
    new_rating = parse_rating(rating)
    new_text = fields.text("text", text, TEXT_MAX, multiline=True)
    new_images = parse_images(image_urls)
    if (new_rating, new_text, new_images) == (review.rating, review.text, review.image_urls):
        return review
    before = ReviewVersion(review.rating, review.text, review.image_urls, review.written_at)
    return replace(
        review,
        rating=new_rating,
        text=new_text,
        image_urls=new_images,
        updated_at=at,
        history=(*review.history, before),
    )


def reply(review: Review, text: str, by: str, at: datetime) -> Review:
    """The review with the shop's reply, quoting it as it stands; an earlier reply is kept."""
    refuse_if_erased(review)
    body = fields.text("text", text, TEXT_MAX, multiline=True)
    if not body:
        raise InvalidArgument("text", "a reply needs text")
    who = fields.text("by", by, REF_MAX)
    if not who:
        raise InvalidArgument("by", "say who replies (staff id or API key id)")
    earlier = (*review.earlier_replies, review.reply) if review.reply else review.earlier_replies
    return replace(
        review,
        reply=Reply(body, review.text, review.rating, who, at),
        earlier_replies=earlier,
    )
