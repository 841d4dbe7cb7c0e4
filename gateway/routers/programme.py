"""The tenant's loyalty programme: its settings, earning rules and versions; and the till's
preview of what a cart would earn."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from gateway.deps import MembersDep, WritePurchases, in_callers_store, require
from gateway.identity import Caller
from gateway.schemas.problems import responses
from gateway.schemas.programme import (
    INT64,
    EarningPreviewBody,
    EarningPreviewOut,
    EarningRuleBody,
    ProgrammeChangeBody,
    ProgrammeVersionList,
    ProgrammeVersionOut,
)

router = APIRouter(prefix="/v1", tags=["programme"])
AdminProgramme = Annotated[Caller, Depends(require("programme:admin"))]
EarningRuleId = Annotated[
    str, Path(min_length=1, max_length=64, description="The earning rule's id, chosen by the tenant")
]
PreviewAtStore = Annotated[EarningPreviewBody, in_callers_store(EarningPreviewBody)]


def _changed_by(caller: Caller) -> str:
    """Who made a version: the API key or staff session of the request, never the body."""
    return f"{caller.kind}:{caller.subject}"


@router.get(
    "/programme",
    summary="Read the loyalty programme",
    description=(
        "The current version of the tenant's programme (tier ladder, points, birthday, expiry, "
        "dormancy, time zone and earning rules), or the version asked for. A tenant that never "
        "changed it runs the defaults, as version 0. Scope `programme:admin`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_programme(
    caller: AdminProgramme,
    members: MembersDep,
    version: Annotated[
        int | None, Query(ge=1, le=INT64, description="This version; absent: the current")
    ] = None,
) -> ProgrammeVersionOut:
    return await members.get_programme(caller.tenant_id, version or 0)


@router.patch(
    "/programme",
    summary="Change the loyalty programme",
    description=(
        "Each section sent (`ladder`, `points`, `birthday`, `expiry`, `dormant_days`, `time_zone`) "
        "replaces the current one, a field it leaves out taking its default; sections not sent stay. "
        "Every change makes a new version, recorded with who made it and when; a change that changes "
        "nothing answers the current version. A mistake is a 400 whose `field` is its path, e.g. "
        "`ladder.tiers[1].min_trailing_spend`; with `expected_version`, a programme changed since is a "
        "409. Tiers are judged on a new ladder from the next purchase or nightly review. "
        "Scope `programme:admin`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def change_programme(
    body: ProgrammeChangeBody, caller: AdminProgramme, members: MembersDep
) -> ProgrammeVersionOut:
    return await members.change_programme(caller.tenant_id, body, _changed_by(caller))


@router.get(
    "/programme/versions",
    summary="List the programme's versions",
    description=(
        "Newest first: each with the whole programme, who changed it and when. Scope `programme:admin`."
    ),
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def list_programme_versions(
    caller: AdminProgramme,
    members: MembersDep,
    limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first")] = 20,
) -> ProgrammeVersionList:
    return ProgrammeVersionList(items=await members.programme_versions(caller.tenant_id, limit))


@router.put(
    "/programme/earning-rules/{earning_rule_id}",
    summary="Add or replace an earning rule",
    description=(
        "An earning rule on top of the base rate (e.g. double points on a brand from Friday to "
        "Sunday, +200 for a first purchase in a store, 3× on a category for gold members): either a "
        "`multiplier` or `bonus_points`, with a validity window, days, stores, tiers, brands, "
        "categories, SKUs and a cap per member. Replaces the rule with this id if there is one. A new "
        "version (none when the rule is unchanged); 409 when `expected_version` is no longer current. "
        "Scope `programme:admin`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def put_earning_rule(
    earning_rule_id: EarningRuleId, body: EarningRuleBody, caller: AdminProgramme, members: MembersDep
) -> ProgrammeVersionOut:
    return await members.put_earning_rule(caller.tenant_id, earning_rule_id, body, _changed_by(caller))


@router.delete(
    "/programme/earning-rules/{earning_rule_id}",
    summary="Remove an earning rule",
    description=(
        "A new version without the rule; purchases already scored keep what it gave them. 404 when "
        "the programme has no such rule, 409 when `expected_version` is no longer current. "
        "Scope `programme:admin`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def delete_earning_rule(
    earning_rule_id: EarningRuleId,
    caller: AdminProgramme,
    members: MembersDep,
    expected_version: Annotated[
        int, Query(ge=0, le=INT64, description="Only if this is still the current version; 0: no check")
    ] = 0,
) -> ProgrammeVersionOut:
    return await members.delete_earning_rule(
        caller.tenant_id, earning_rule_id, expected_version, _changed_by(caller)
    )


@router.post(
    "/programme/preview",
    summary="Preview what a cart would earn",
    description=(
        "For the till: the points this member would earn for this cart now (or at `at`), share by "
        "share (base, birthday, each earning rule), under the current programme version and at the "
        "member's tier. Recording the same purchase scores it the same way. Changes nothing. A "
        "credential restricted to a store previews only there. Scope `purchases:write`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def preview_earning(
    caller: WritePurchases, body: PreviewAtStore, members: MembersDep
) -> EarningPreviewOut:
    return await members.preview_earning(caller.tenant_id, body)
