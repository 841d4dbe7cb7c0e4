"""A year of the daily calendar in seconds: each birthday and dormancy announced exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from ulid import ULID

from devstack.processes import Stack
from services.members.adapters.mongo import to_doc
from services.members.domain.model import Member, Profile
from tests.kafka_tools import header, read_all
from tests.support import eventually

TENANT = "tenant-calendar"


def seed(
    mongo: MongoClient[Any],
    s: Stack,
    name: str,
    birthday: tuple[int, int, int | None] | None,
    last_purchase: datetime | None = None,
    blacklisted: bool = False,
) -> str:
    member = Member(
        id=str(ULID()),
        tenant_id=TENANT,
        phone=f"+8613{abs(hash(name)) % 10**9:09d}",
        name=name,
        surname="",
        home_store_id="",
        channel="import",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        profile=Profile(birthday=birthday),
    )
    doc = to_doc(member)
    if last_purchase:
        doc["stats"] = {"last_purchase_at": last_purchase}
    if blacklisted:
        doc["blacklist"] = {"reason": "extortion", "at": datetime(2026, 1, 1, tzinfo=UTC)}
    mongo[f"{s.namespace}regulars_members"]["members"].insert_one(doc)
    return member.id


async def test_a_year_of_calendar_days_announces_each_birthday_and_dormancy_once(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    mei = seed(mongo, stack, "Mei", (3, 8, 1990))
    leap = seed(mongo, stack, "Leap", (2, 29, None))
    seed(mongo, stack, "Listed", (3, 8, None), blacklisted=True)
    quiet = seed(mongo, stack, "Quiet", None, last_purchase=datetime(2026, 12, 15, 18, 30, tzinfo=UTC))

    totals: Counter[str] = Counter()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        day = date(2027, 1, 1)
        while day.year == 2027:
            summary = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=day.isoformat()))
            totals.update(
                birthday_months=summary.birthday_months_started,
                birthdays=summary.birthdays,
                dormant=summary.dormant,
            )
            day += timedelta(days=1)
        again = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date="2027-03-08"))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date="2027-02-30"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (again.birthdays, again.birthday_months_started, again.dormant) == (0, 0, 0)
    assert totals == Counter(birthday_months=2, birthdays=2, dormant=3)

    topic = f"{stack.namespace}regulars.members.v1"

    def calendar_events() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        mine = [
            r
            for r in records
            if header(r, "ce_type")
            in {
                "regulars.members.v1.member_birthday",
                "regulars.members.v1.member_birthday_month_started",
                "regulars.members.v1.member_dormant",
            }
        ]
        return mine if len(mine) >= 7 else None

    records = await asyncio.to_thread(eventually, calendar_events)
    kinds = Counter((header(r, "ce_type"), header(r, "ce_subject")) for r in records)
    assert kinds == Counter(
        {
            ("regulars.members.v1.member_birthday_month_started", mei): 1,
            ("regulars.members.v1.member_birthday_month_started", leap): 1,
            ("regulars.members.v1.member_birthday", mei): 1,
            ("regulars.members.v1.member_birthday", leap): 1,
            ("regulars.members.v1.member_dormant", quiet): 3,
        }
    )
    leap_day = next(
        events_pb2.MemberBirthday.FromString(r.value)
        for r in records
        if header(r, "ce_type") == "regulars.members.v1.member_birthday" and header(r, "ce_subject") == leap
    )
    assert leap_day.date == "2027-02-28"
    dormancy = sorted(
        events_pb2.MemberDormant.FromString(r.value).days
        for r in records
        if header(r, "ce_type") == "regulars.members.v1.member_dormant"
    )
    assert dormancy == [30, 60, 90]
