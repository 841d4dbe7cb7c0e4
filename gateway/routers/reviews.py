"""Reviews: a member posts one about a purchase, a store or a product (a mini-program acting for
that member only, or a store app), reads and amends their own; the shop replies publicly.

A bad review (and, when the tenant's policy says so, a medium one) opens a complaint case, whose
id the review carries. A member session sees only its own member's reviews; a credential
restricted to a store, its store's: another's is a 404, as another tenant's is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gateway.deps import FeedbackDep, HandleCases, MembersDep, ReadFeedback, WriteFeedback, in_callers_store
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.routers.cases import (
    Limit,
    MemberFilter,
    StoreFilter,
    actor,
    at_callers_store,
    filters,
    member_for,
)
from gateway.schemas.feedback import (
    AmendReviewBody,
    PostReviewBody,
    RatingClassName,
    ReplyBody,
    ReviewList,
    ReviewOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["reviews"])
ReviewId = Annotated[str, Path(min_length=1, max_length=64, description="The review's id")]
PostReviewAtStore = Annotated[PostReviewBody, in_callers_store(PostReviewBody)]


def _may_see(caller: Caller, review: ReviewOut) -> bool:
    if caller.kind == "member" and review.member_id != caller.member_id:
        return False
    return at_callers_store(caller, review.store_id)


def _hidden(review_id: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"review {review_id} not found")


async def _readable(feedback: FeedbackDep, caller: Caller, review_id: str) -> ReviewOut:
    review = await feedback.get_review(caller.tenant_id, review_id)
    if not _may_see(caller, review):
        raise _hidden(review_id)
    return review


@router.post(
    "/reviews",
    status_code=201,
    summary="Post a review",
    description=(
        "A member's review of a purchase (`store_id` and `receipt_no`), a store, or a product (`sku`): "
        "a rating from 1 to 5, classified good (4-5), medium (3) or bad (1-2), text and image links. "
        "A bad review opens a complaint case (`case_id`), exactly one however often it is retried. "
        "201 when posted; 200 with the first review for a retry with the same `request_id`. A member "
        "session posts for itself (`member_id` may be left out); a credential restricted to a store "
        "posts reviews of that store. Scope `feedback:write`."
    ),
    responses={
        200: {"model": ReviewOut, "description": "A retry: the review first posted with this request_id"},
        **responses(400, 401, 403, 404, 409, 422, 429, 503),
    },
)
async def post_review(
    caller: WriteFeedback,
    body: PostReviewAtStore,
    members: MembersDep,
    feedback: FeedbackDep,
    response: Response,
) -> ReviewOut:
    member_id = await member_for(members, caller, body.member_id)
    channel = body.channel or ("mini_program" if caller.kind == "member" else "store_app")
    review, created = await feedback.post_review(caller.tenant_id, member_id, body, channel)
    if not _may_see(caller, review):
        # The same member's request_id reused for a review of another store than the caller's.
        raise Problem(
            409,
            "conflict",
            "Already exists",
            f"request_id {body.request_id} already posted another review; use a new one",
            field="request_id",
        )
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/reviews/{review.id}"
    return review


@router.get(
    "/reviews/{review_id}",
    summary="Read a review",
    description=(
        "The review as it stands, its earlier versions if the member amended it, the shop's reply "
        "(quoting the review as it stood) and earlier replies, whether the purchase was verified and "
        "the case it opened. A member session reads its own member's reviews; a store's credential "
        "its store's. Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_review(review_id: ReviewId, caller: ReadFeedback, feedback: FeedbackDep) -> ReviewOut:
    return await _readable(feedback, caller, review_id)


@router.get(
    "/reviews",
    summary="List reviews",
    description=(
        "Newest first, optionally of one store, one member or one class of rating (good, medium, "
        "bad). A member session lists its own member's; a store's credential its store's. "
        "Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_reviews(
    caller: ReadFeedback,
    feedback: FeedbackDep,
    store_id: StoreFilter = "",
    member_id: MemberFilter = "",
    rating_class: Annotated[
        RatingClassName | None, Query(description="good (4-5), medium (3) or bad (1-2)")
    ] = None,
    limit: Limit = 50,
) -> ReviewList:
    store, member = filters(caller, store_id, member_id)
    found = await feedback.list_reviews(
        caller.tenant_id, store_id=store, member_id=member, rating_class=rating_class, limit=limit
    )
    return ReviewList(items=found)


@router.post(
    "/reviews/{review_id}/reply",
    summary="Reply to a review",
    description=(
        "The shop's public reply; it quotes the review as it stands. A second reply replaces the "
        "first, which stays in `earlier_replies`. The reply is recorded as the calling staff or key's. "
        "A store's credential replies to its store's reviews. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def reply_to_review(
    review_id: ReviewId, body: ReplyBody, caller: HandleCases, feedback: FeedbackDep
) -> ReviewOut:
    if caller.store_id:
        await _readable(feedback, caller, review_id)
    return await feedback.reply_to_review(caller.tenant_id, review_id, body.text, actor(caller))


@router.post(
    "/reviews/{review_id}/amendments",
    summary="Amend a review",
    description=(
        "The member rewrites their own review (after a resolution, say): the new rating, text and "
        "images replace the current ones, which stay in `history`. Only the review's member can: a "
        "member session for its own reviews, or a key naming the review's `member_id` (another "
        "member is a 409). Nothing else ever changes what a member wrote; amending opens no case. "
        "Scope `feedback:write`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def amend_review(
    review_id: ReviewId, body: AmendReviewBody, caller: WriteFeedback, feedback: FeedbackDep
) -> ReviewOut:
    if caller.kind == "member":
        if body.member_id and body.member_id != caller.member_id:
            raise Problem(404, "not-found", "Not found", f"member {body.member_id} not found")
        member_id = caller.member_id or ""
    else:
        member_id = body.member_id
    if caller.kind == "member" or caller.store_id:
        await _readable(feedback, caller, review_id)
    return await feedback.amend_review(caller.tenant_id, review_id, member_id, body)
