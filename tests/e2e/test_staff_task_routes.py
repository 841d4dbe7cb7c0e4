"""Staff tasks through the gateway, on the real platform: an assistant lists only their own tasks,
split into due and overdue at the service's clock, completes one on time (a second completion
with another outcome is a 409); a manager sees the store's tasks and each assistant's on-time
rate; after a handover (members' member_staff_assigned, consumed by messaging) the member's open
tasks are the new assistant's and done ones stay; the relay publishes the tasks' events.

Tasks are opened here with the use case on the store adapter, in the platform's own messaging
database (the running service reads them, and its outbox relay publishes what they embed); the
pipeline's own path to a task (a message by staff_task) is tests/e2e/test_message_routes.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import httpx
import pytest
from pymongo import AsyncMongoClient
from regulars.messaging.v1 import events_pb2

from chassis import outbox
from chassis.cloudevents import topic_of
from chassis.settings import CommonSettings
from devstack.processes import Stack
from services.messaging.adapters.tasks_mongo import MongoStaffTasks
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.messages import Message
from services.messaging.service.tasks import StaffTasks
from tests.kafka_tools import header, read_all
from tests.support import eventually

A = {"Authorization": "Bearer key-tenant-a"}
B = {"Authorization": "Bearer key-tenant-b"}
T = TypeVar("T")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


class _NoRelay:
    def wake(self) -> None:
        """The service's relay finds the embedded events by polling."""


def settings_of(platform: Stack) -> CommonSettings:
    """The names the platform's services use (database, topics), from its namespace."""
    return CommonSettings(
        mongodb_url=platform.mongodb_url,
        kafka_bootstrap_servers=platform.kafka_bootstrap_servers,
        namespace=platform.namespace,
    )


def on_platform(platform: Stack, work: Callable[[StaffTasks], Awaitable[T]]) -> T:
    """Runs `work` with the staff-task use case on the platform's messaging database."""

    async def run() -> T:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(platform.mongodb_url, tz_aware=True)
        settings = settings_of(platform)
        db = client[settings.database_name("messaging")]
        relay = cast(outbox.Outbox, _NoRelay())  # the running service relays what is embedded
        topic = settings.topic(topic_of(events_pb2.DESCRIPTOR))
        try:
            return await work(StaffTasks(MongoStaffTasks(db, topic, relay)))
        finally:
            await client.close()

    return asyncio.run(run())


@dataclass
class Shop:
    api: httpx.Client
    platform: Stack
    code: str

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] = A, status: int = 201) -> Any:
        r = self.api.post(path, json=body, headers=headers)
        assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
        return r.json()

    def staff(
        self, name: str, role: str = "assistant", store: str = ""
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """(the staff member, the headers of their session)."""
        who = self.post(f"/v1/stores/{store or self.code}/staff", {"name": name, "role": role})
        session = self.post("/v1/sessions/staff", {"staff_id": who["id"]})
        return who, bearer(session["token"])

    def member_of(self, staff: dict[str, Any]) -> str:
        phone = f"+86137{time.time_ns() % 100_000_000:08d}"
        member = self.post(
            "/v1/members", {"phone": phone, "name": "Li", "staff_code": staff["referral_codes"][0]}
        )
        return str(member["id"])

    def task(self, member_id: str, staff_id: str, due_in: timedelta, key: str) -> str:
        now = datetime.now(UTC)
        message = Message(
            id=f"{self.code}-{key}",
            tenant_id="tenant-a",
            member_id=member_id,
            key=f"day3:{self.code}-{key}",
            template_id="day3-call",
            message_class=MessageClass.CARE,
            channels=(Channel.STAFF_TASK,),
            due_at=now,
            created_at=now,
        )
        return on_platform(
            self.platform,
            lambda desk: desk.open_for(
                message, staff_id, self.code, f"Call {key}", "Hello Ms Li", now + due_in, now
            ),
        )


@pytest.fixture
def shop(api: httpx.Client, platform: Stack) -> Shop:
    code = f"st{time.time_ns() % 10**9}"
    r = api.post("/v1/stores", json={"code": code, "name": "Task shop"}, headers=A)
    assert r.status_code == 201, r.text
    return Shop(api, platform, code)


def ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


def test_an_assistant_works_their_own_list_and_a_manager_sees_the_store(
    shop: Shop, api: httpx.Client
) -> None:
    wang, as_wang = shop.staff("Wang")
    zhao, _ = shop.staff("Zhao")
    _, as_boss = shop.staff("Boss", "manager")
    member = shop.member_of(wang)
    late = shop.task(member, wang["id"], -timedelta(hours=2), "late")
    soon = shop.task(member, wang["id"], timedelta(days=1), "soon")
    zhaos = shop.task(shop.member_of(zhao), zhao["id"], timedelta(days=1), "zhao")
    stores = shop.task(member, "", timedelta(days=2), "store")
    assert shop.task(member, wang["id"], timedelta(days=1), "soon") == soon  # a message is one task

    mine = api.get("/v1/staff/me/tasks", headers=as_wang)
    assert ids(mine) == [late, soon]
    assert [t["state"] for t in mine.json()["items"]] == ["overdue", "open"]
    assert ids(api.get("/v1/staff/me/tasks", params={"state": "due"}, headers=as_wang)) == [soon]
    assert ids(api.get("/v1/staff/me/tasks", params={"state": "overdue"}, headers=as_wang)) == [late]
    paged = api.get("/v1/staff/me/tasks", params={"page_size": 1}, headers=as_wang).json()
    rest = api.get("/v1/staff/me/tasks", params={"page_token": paged["next_page_token"]}, headers=as_wang)
    assert [t["id"] for t in paged["items"]] + ids(rest) == [late, soon]
    # Another assistant's list and task are not there for Wang; nor Wang's for another tenant.
    assert api.get(f"/v1/staff/{zhao['id']}/tasks", headers=as_wang).status_code == 404
    assert api.get(f"/v1/staff-tasks/{zhaos}", headers=as_wang).status_code == 404
    assert api.get(f"/v1/staff-tasks/{soon}", headers=B).status_code == 404
    assert api.get(f"/v1/stores/{shop.code}/staff-tasks", headers=as_wang).status_code == 403

    done = api.post(
        f"/v1/staff-tasks/{soon}/complete",
        json={"outcome": "contacted", "notes": "liked it"},
        headers=as_wang,
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["outcome"], done.json()["on_time"]) == (
        "done",
        "contacted",
        True,
    )
    again = api.post(f"/v1/staff-tasks/{soon}/complete", json={"outcome": "contacted"}, headers=as_wang)
    assert (again.status_code, again.json()["completed_at"]) == (200, done.json()["completed_at"])
    assert (
        api.post(
            f"/v1/staff-tasks/{soon}/complete", json={"outcome": "declined"}, headers=as_wang
        ).status_code
        == 409
    )
    bad = api.post(f"/v1/staff-tasks/{late}/complete", json={"outcome": "called"}, headers=as_wang)
    assert (bad.status_code, bad.json()["field"]) == (422, "outcome")
    assert (
        api.post(
            f"/v1/staff-tasks/{zhaos}/complete", json={"outcome": "contacted"}, headers=as_wang
        ).status_code
        == 404
    )
    nobody = api.post(f"/v1/staff-tasks/{late}/complete", json={"outcome": "contacted"}, headers=A)
    assert (nobody.status_code, nobody.json()["field"]) == (400, "staff_id")  # a key says who did it

    store = api.get(f"/v1/stores/{shop.code}/staff-tasks", headers=as_boss)
    assert set(ids(store)) == {late, soon, zhaos, stores}
    only_open = api.get(
        f"/v1/stores/{shop.code}/staff-tasks",
        params={"state": "open", "staff_id": wang["id"]},
        headers=as_boss,
    )
    assert ids(only_open) == [late]
    assert ids(api.get(f"/v1/staff/{wang['id']}/tasks", params={"state": "done"}, headers=as_boss)) == [soon]
    assert ids(api.get(f"/v1/staff/{wang['id']}/tasks", params={"state": "done"}, headers=A)) == [soon]
    stats = api.get(f"/v1/stores/{shop.code}/staff-task-stats", headers=as_boss)
    assert stats.status_code == 200, stats.text
    rows = {r["staff_id"]: r for r in stats.json()["items"]}
    assert {
        k: (r["open"], r["overdue"], r["done"], r["done_on_time"], r["on_time_rate"]) for k, r in rows.items()
    } == {
        wang["id"]: (1, 1, 1, 1, 1.0),
        zhao["id"]: (1, 0, 0, 0, 0.0),
        None: (1, 0, 0, 0, 0.0),
    }
    shop.post("/v1/stores", {"code": f"o{shop.code}", "name": "Other"})
    _, as_other_boss = shop.staff("Other boss", "manager", store=f"o{shop.code}")
    assert api.get(f"/v1/stores/{shop.code}/staff-task-stats", headers=as_other_boss).status_code == 403
    assert api.get(f"/v1/staff-tasks/{late}", headers=as_other_boss).status_code == 404
    assert api.get(f"/v1/staff/{wang['id']}/tasks", headers=as_other_boss).status_code == 404


def test_after_a_handover_the_members_open_tasks_are_the_new_assistants(
    shop: Shop, api: httpx.Client, platform: Stack
) -> None:
    wang, as_wang = shop.staff("Wang")
    chen, as_chen = shop.staff("Chen")
    member = shop.member_of(wang)
    open_one = shop.task(member, wang["id"], timedelta(days=1), "open")
    done_one = shop.task(member, wang["id"], timedelta(days=1), "done")
    assert (
        api.post(
            f"/v1/staff-tasks/{done_one}/complete", json={"outcome": "no_answer"}, headers=as_wang
        ).status_code
        == 200
    )

    handover = shop.post(f"/v1/staff/{wang['id']}/handover", {"to_staff_id": chen["id"]}, status=202)
    eventually(lambda: api.get(f"/v1/handovers/{handover['id']}", headers=A).json()["state"] == "done")

    def followed() -> httpx.Response | None:
        """Chen's list once messaging has heard members' member_staff_assigned."""
        listed = api.get("/v1/staff/me/tasks", headers=as_chen)
        return listed if ids(listed) == [open_one] else None

    chens = eventually(followed)
    replayed = on_platform(  # the event redelivered: nothing moves again
        platform,
        lambda desk: desk.member_reassigned("tenant-a", member, chen["id"], wang["id"], datetime.now(UTC)),
    )
    assert replayed == 0
    assert chens.json()["items"][0]["previous_staff_ids"] == [wang["id"]]
    assert ids(api.get("/v1/staff/me/tasks", headers=as_wang)) == [done_one]
    finished = api.post(
        f"/v1/staff-tasks/{open_one}/complete", json={"outcome": "contacted"}, headers=as_chen
    )
    assert finished.status_code == 200, finished.text

    topic = settings_of(platform).topic(topic_of(events_pb2.DESCRIPTOR))
    completed = "regulars.messaging.v1.staff_task_completed"

    def announced() -> list[str] | None:
        """Who completed each of the member's tasks, as the relay published it."""
        records = asyncio.run(read_all(platform.kafka_bootstrap_servers, topic, settle_seconds=1.0))
        by = [
            events_pb2.StaffTaskCompleted.FromString(r.value).task.staff_id
            for r in records
            if header(r, "ce_subject") == member and header(r, "ce_type") == completed
        ]
        return by if len(by) == 2 else None

    assert sorted(eventually(announced)) == sorted([wang["id"], chen["id"]])
