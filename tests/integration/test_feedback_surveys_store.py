"""Feedback's survey and thread adapters on the real store, each test in a database of its own:
surveys and threads read back exactly as written; an insert is once per id (a survey's token is
unique per tenant); a stale save writes and announces nothing; the clock's queries find exactly
the surveys due and the threads late, by their indexes on the embedded FerretDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from regulars.feedback.v1 import events_pb2

from chassis import mongo, outbox
from services.feedback.adapters import surveys_mongo, threads_mongo
from services.feedback.adapters.documents import survey_doc, thread_doc
from services.feedback.adapters.surveys_mongo import MongoSurveys
from services.feedback.adapters.threads_mongo import MongoThreads
from services.feedback.domain.cases import Category
from services.feedback.domain.events import SurveyAnswered, SurveyDue, thread_facts
from services.feedback.domain.surveys import Answer, Survey, SurveyState
from services.feedback.domain.threads import Author, Message, Thread, ThreadKind, ThreadState, record_breach
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TOPIC = "feedback-surveys-store-topic"
T0 = datetime(2026, 5, 4, 9, 30, 12, 345000, tzinfo=UTC)  # to the millisecond, as BSON keeps it
DAY = timedelta(days=1)


class _Relay:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    surveys: MongoSurveys
    threads: MongoThreads
    relay: _Relay


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=50)
    db = client[f"{fresh_namespace()}feedback"]
    await mongo.ensure_indexes(db, surveys_mongo.INDEXES | threads_mongo.INDEXES)
    counting = _Relay()
    relay = cast(outbox.Outbox, counting)
    try:
        yield Store(db, MongoSurveys(db, TOPIC, relay), MongoThreads(db, TOPIC, relay), counting)
    finally:
        await client.drop_database(db.name)
        await client.close()


def a_survey(survey_id: str = "S1", tenant_id: str = "t1", **changes: Any) -> Survey:
    return replace(
        Survey(
            id=survey_id,
            tenant_id=tenant_id,
            member_id="m1",
            store_id="s1",
            purchase_id=f"p-{survey_id}",
            receipt_no="R-1",
            staff_id="staff-1",
            purchased_at=T0,
            token=f"tok-{survey_id}",
            state=SurveyState.SCHEDULED,
            scheduled_at=T0,
            due_at=T0 + 3 * DAY,
            closes_at=T0 + 33 * DAY,
        ),
        **changes,
    )


def an_answered_survey() -> Survey:
    answer = Answer(2, None, "slow", True, Category.SERVICE_ATTITUDE, T0 + 4 * DAY)
    return a_survey(
        state=SurveyState.ANSWERED,
        fell_due_at=T0 + 3 * DAY,
        answer=answer,
        case_id="C1",
        points=30,
        version=3,
    )


def a_thread(thread_id: str = "TH1", tenant_id: str = "t1", **changes: Any) -> Thread:
    return replace(
        Thread(
            id=thread_id,
            tenant_id=tenant_id,
            member_id="m1",
            kind=ThreadKind.QUESTION,
            store_id="s1",
            state=ThreadState.OPEN,
            opened_at=T0,
            first_response_due=T0 + 2 * DAY,
            messages=(Message("M1", Author.MEMBER, "m1", "rye on Sundays?", T0),),
        ),
        **changes,
    )


def a_full_thread() -> Thread:
    return a_thread(
        kind=ThreadKind.SUGGESTION,
        state=ThreadState.CLOSED,
        messages=(
            Message("M1", Author.MEMBER, "m1", "open at 7", T0),
            Message("M2", Author.STAFF, "staff-1", "thanks!", T0 + 3 * DAY),
        ),
        assigned_store_id="s2",
        assigned_staff_id="a7",
        first_responded_at=T0 + 3 * DAY,
        sla_breaches=("first_response",),
        adopted_at=T0 + 3 * DAY,
        adopted_by="staff-1",
        closed_at=T0 + 4 * DAY,
        closed_by="m1",
        version=5,
    )


async def test_surveys_and_threads_read_back_exactly_as_stored(store: Store) -> None:
    full, plain = an_answered_survey(), a_survey("S2")
    for survey in (full, plain):
        await store.surveys.insert(survey)
    thread, fuller = a_thread("TH2"), a_full_thread()
    for t in (thread, fuller):
        await store.threads.insert(t, [])

    assert await store.surveys.get("t1", full.id) == full
    assert await store.surveys.by_token("t1", plain.token) == plain
    assert await store.threads.get("t1", "TH2") == thread
    assert await store.threads.get("t1", fuller.id) == fuller
    assert await store.surveys.get("t2", full.id) is None  # another tenant's
    assert await store.surveys.by_token("t2", plain.token) is None


def test_documents_hold_every_field_of_a_survey_and_a_thread() -> None:
    assert set(survey_doc(an_answered_survey())) == {
        "_id" if f.name == "id" else f.name for f in fields(Survey)
    } | {"falls_due_at"}
    assert set(thread_doc(a_full_thread())) == {
        "_id" if f.name == "id" else f.name for f in fields(Thread)
    } | {"next_due"}


async def test_a_survey_inserted_concurrently_is_stored_once_and_its_token_names_one_survey(
    store: Store,
) -> None:
    tries = [
        a_survey(token=f"tok-{i}") for i in range(8)
    ]  # purchase_made on several replicas, each its token
    results = await asyncio.gather(*(store.surveys.insert(s) for s in tries))

    assert sum(created for _, created in results) == 1
    [winner] = {s.token for s, _ in results}
    assert await store.surveys.by_token("t1", winner) is not None
    assert await store.db[surveys_mongo.SURVEYS].count_documents({}) == 1
    with pytest.raises(DuplicateKeyError):
        await store.db[surveys_mongo.SURVEYS].insert_one(survey_doc(a_survey("S9", token=winner)))


async def test_a_survey_saved_announces_its_fact_and_a_stale_save_writes_nothing(store: Store) -> None:
    survey = a_survey()
    await store.surveys.insert(survey)
    due = replace(survey, state=SurveyState.DUE, fell_due_at=T0 + 3 * DAY, version=2)

    assert await store.surveys.save(due, 1, [SurveyDue(due)])
    assert not await store.surveys.save(replace(an_answered_survey(), version=2), 1, [SurveyAnswered(due)])

    assert await store.surveys.get("t1", survey.id) == due
    doc = await store.db[surveys_mongo.SURVEYS].find_one({"_id": survey.id})
    assert doc is not None
    [entry] = doc["_outbox"].values()
    assert entry["type"] == "regulars.feedback.v1.survey_due"
    assert events_pb2.SurveyDue.FromString(entry["data"]).survey.token == survey.token
    assert store.relay.woken == 1


async def test_the_clock_finds_the_surveys_due_and_the_threads_late_only(store: Store) -> None:
    now = T0 + 3 * DAY
    for survey in (
        a_survey("due"),
        a_survey("later", due_at=now + DAY),
        a_survey("announced", state=SurveyState.DUE, fell_due_at=now),
        replace(an_answered_survey(), id="answered", token="tok-answered"),
        a_survey("other-tenant", tenant_id="t2"),
    ):
        await store.surveys.insert(survey)
    late = a_thread("late")
    for thread in (
        late,
        a_thread("answered", first_responded_at=T0 + DAY, state=ThreadState.ANSWERED),
        a_thread("recorded", sla_breaches=("first_response",)),
        a_thread("closed", state=ThreadState.CLOSED, closed_at=T0 + DAY),
        a_thread("not-yet", first_response_due=now + DAY),
    ):
        await store.threads.insert(thread, thread_facts(None, thread, T0))

    assert sorted(s.id for s in await store.surveys.due(now, 100)) == ["due", "other-tenant"]
    assert [t.id for t in await store.threads.overdue(now, 100)] == ["late"]
    breached = replace(record_breach(late, now), version=2)
    assert await store.threads.save(breached, 1, thread_facts(late, breached, now))
    assert await store.threads.overdue(now, 100) == []  # recorded: out of the clock's range


async def test_thread_listings_filter_sort_and_keep_to_the_tenant(store: Store) -> None:
    for i, (kind, state, tenant) in enumerate(
        [
            (ThreadKind.QUESTION, ThreadState.OPEN, "t1"),
            (ThreadKind.SUGGESTION, ThreadState.ANSWERED, "t1"),
            (ThreadKind.SUGGESTION, ThreadState.OPEN, "t1"),
            (ThreadKind.SUGGESTION, ThreadState.OPEN, "t2"),
        ]
    ):
        await store.threads.insert(
            a_thread(f"T{i}", tenant, kind=kind, state=state, opened_at=T0 + i * DAY), []
        )

    found = await store.threads.find("t1", "m1", "", ThreadState.OPEN, ThreadKind.SUGGESTION, 10)
    newest = await store.threads.find("t1", "", "s1", None, None, 2)

    assert [t.id for t in found] == ["T2"]
    assert [t.id for t in newest] == ["T2", "T1"]


async def _is_ferretdb(db: AsyncDatabase[Doc]) -> bool:
    return "ferretdbVersion" in await db.command("buildInfo")


@pytest.mark.parametrize(
    ("collection", "query", "index"),
    [
        ("surveys", {"falls_due_at": {"$lte": T0}}, "survey_due"),
        ("surveys", {"tenant_id": "t1", "token": "tok-S1"}, "survey_token"),
        ("surveys", {"tenant_id": "t1", "member_id": "m1"}, "member_surveys"),
        ("threads", {"next_due": {"$lt": T0}}, "thread_due"),
        ("threads", {"tenant_id": "t1", "member_id": "m1"}, "member_threads"),
    ],
    ids=["surveys_due", "by_token", "member_surveys", "threads_overdue", "member_threads"],
)
async def test_the_queries_search_their_index(store: Store, collection: str, query: Doc, index: str) -> None:
    if not await _is_ferretdb(store.db):
        pytest.skip("query plans are checked on the embedded FerretDB only")
    for i in range(20):
        await store.surveys.insert(a_survey(f"S{i}", due_at=T0 + (i - 10) * DAY))
        await store.threads.insert(a_thread(f"TH{i}", first_response_due=T0 + (i - 10) * DAY), [])

    explained = await store.db.command("explain", {"find": collection, "filter": query})
    plan = [str(line) for line in explained["queryPlanner"]["Plan"]]

    assert not any("SCAN" in line for line in plan), plan
    assert any("SEARCH" in line and f"_{index} (" in line for line in plan), plan
