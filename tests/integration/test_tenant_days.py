"""A tenant's own days and months on the real store: a Shanghai tenant's spend month, dormancy
day and birthday are Shanghai's, and each tenant's calendar keeps its own last day."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import grpc
from pymongo import MongoClient
from regulars.members.v1 import members_pb2, members_pb2_grpc
from ulid import ULID

from devstack.processes import Stack
from services.members.adapters.mongo import to_doc
from services.members.domain.model import Member, Profile
from tests.integration.test_programmes import line, receipt

LATE_ON_31_MAY_UTC = datetime(2026, 5, 31, 17, 30, tzinfo=UTC)  # 01:30 on 1 June in Shanghai
LATE_ON_1_MAY_UTC = datetime(2026, 5, 1, 17, 0, tzinfo=UTC)  # 2 May in Shanghai: 30 days before 1 June


def seed(
    mongo: MongoClient[Any], stack: Stack, tenant: str, birthday: tuple[int, int, int | None] | None
) -> str:
    member = Member(
        id=str(ULID()),
        tenant_id=tenant,
        phone=f"+86139{random.randrange(10**8):08d}",
        name="Zhou",
        surname="",
        home_store_id="",
        channel="import",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        profile=Profile(birthday=birthday),
    )
    mongo[f"{stack.namespace}regulars_members"]["members"].insert_one(to_doc(member))
    return member.id


async def test_a_shanghai_tenants_month_dormancy_and_birthday_are_shanghais(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    shanghai, utc = f"shanghai-{ULID()}", f"utc-{ULID()}"
    june_born = seed(mongo, stack, shanghai, (6, 1, None))
    quiet = seed(mongo, stack, shanghai, None)
    quiet_in_utc = seed(mongo, stack, utc, None)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        await api.UpdateProgramme(
            members_pb2.UpdateProgrammeRequest(
                tenant_id=shanghai,
                settings=members_pb2.ProgrammeSettings(time_zone="Asia/Shanghai"),
                changed_by="key-admin",
            )
        )
        await api.RecordPurchase(receipt(shanghai, june_born, [line(10_000)], LATE_ON_31_MAY_UTC))
        await api.RecordPurchase(receipt(shanghai, quiet, [line(5_000)], LATE_ON_1_MAY_UTC))
        await api.RecordPurchase(receipt(utc, quiet_in_utc, [line(5_000)], LATE_ON_1_MAY_UTC))
        summary = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date="2026-06-01"))

    db = mongo[f"{stack.namespace}regulars_members"]
    bought = db["members"].find_one({"_id": june_born})
    assert bought is not None
    assert bought["stats"]["spend_by_month"] == {"2026-06": 10_000}  # June spend in Shanghai
    recorded = db["purchases"].find_one({"member_id": june_born})
    assert recorded is not None
    assert recorded["spend_month"] == "2026-06"
    told = {d["_id"] for d in db["calendar_events"].find({})}
    assert f"birthday:2026:{june_born}" in told
    assert f"birthday_month:2026-06:{june_born}" in told
    assert any(k.startswith("dormant:30:") and k.endswith(quiet) for k in told)  # 2 May there
    assert not any(k.endswith(quiet_in_utc) for k in told)  # 1 May in UTC: 31 days before
    assert (summary.birthdays, summary.dormant) == (1, 1)
    days = {d["_id"]: d["day"] for d in db["calendar_state"].find({})}
    assert days[f"tenant:{shanghai}"] >= "2026-06-01"  # its own last day; the others share "last_day"
    assert days.keys() == {f"tenant:{shanghai}", "last_day"}
