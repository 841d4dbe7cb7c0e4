"""Sending messages through the gateway, on the real platform: a store app sends a member one
message by a template (sent once per key, a retry answered with the first message); it lands in
the member's inbox, the member's session reads and marks it, and message_sent reaches Kafka once;
a message by staff_task becomes a task on the assistant's list; a cap names its rule; bad input
names the field; another tenant sees none of it; a WeChat subscription the member accepted is
counted once per grant; a complaint past its deadline becomes the store's escalation task.

Each test runs in a tenant of its own (the static keys' tenant is fuzzed by schemathesis).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from regulars.messaging.v1 import events_pb2

from chassis.cloudevents import topic_of
from devstack.processes import Stack
from tests.e2e.test_feedback_routes import Tenant, bearer
from tests.kafka_tools import header, read_all
from tests.support import eventually

OTHER_TENANT = {"Authorization": "Bearer key-tenant-b"}
SCOPES = (
    "messages:send",
    "messages:admin",
    "members:read",
    "members:consent",
    "tasks:work",
    "tasks:manage",
    "feedback:write",
    "cases:handle",
)


@pytest.fixture
def client(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as api:
        yield api


class Shop(Tenant):
    """A tenant with a key for messaging, quiet hours off (tests run at any hour)."""

    def __init__(self, platform: Stack, api: httpx.Client) -> None:
        super().__init__(platform, api)
        self.crm = self.key(*SCOPES)
        r = api.patch("/v1/messaging-policy", json={"quiet_start": "", "quiet_end": ""}, headers=self.crm)
        assert r.status_code == 200, r.text

    def template(self, template_id: str, message_class: str, texts: dict[str, Any], **extra: Any) -> None:
        body = {"name": template_id, "message_class": message_class, "texts": texts, **extra}
        r = self.api.put(f"/v1/message-templates/{template_id}", json=body, headers=self.crm)
        assert r.status_code in (200, 201), r.text

    def send(self, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        r = self.api.post("/v1/messages", json=body, headers=self.crm)
        assert r.status_code == status, r.text
        reply: dict[str, Any] = r.json()
        return reply


@pytest.fixture
def shop(platform: Stack, client: httpx.Client) -> Shop:
    return Shop(platform, client)


INBOX_TEXT = {
    "inbox": {"title": "Your order is ready", "body": "{{ title }} {{ name }}, come and collect it."}
}


def test_a_message_is_sent_once_per_key_lands_in_the_inbox_and_is_announced_once(
    shop: Shop, platform: Stack
) -> None:
    api = shop.api
    member_id, as_member = shop.enrol()
    shop.template("order-ready", "transactional", INBOX_TEXT)
    body = {"member_id": member_id, "message_key": f"ready:{member_id}", "template_id": "order-ready"}

    first = shop.send(body)
    again = shop.send(body, status=200)
    assert (first["state"], first["channel"], again["id"]) == ("sent", "inbox", first["id"])
    assert api.get(f"/v1/messages/{first['id']}", headers=shop.crm).json()["state"] == "sent"
    listed = api.get("/v1/messages", params={"member_id": member_id}, headers=shop.crm).json()["items"]
    assert [m["id"] for m in listed] == [first["id"]]

    inbox = api.get(f"/v1/members/{member_id}/inbox", headers=as_member).json()["items"]
    delivered = [i for i in inbox if i["message_id"] == first["id"]]
    assert len(delivered) == 1
    assert (delivered[0]["title"], delivered[0]["body"]) == (
        "Your order is ready",
        "Wu, come and collect it.",
    )
    read = api.post(f"/v1/members/{member_id}/inbox/{delivered[0]['id']}/read", headers=as_member)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    again_read = api.post(f"/v1/members/{member_id}/inbox/{delivered[0]['id']}/read", headers=as_member)
    assert again_read.json()["read_at"] == read.json()["read_at"]

    assert api.get(f"/v1/messages/{first['id']}", headers=OTHER_TENANT).status_code == 404
    topic = f"{platform.namespace}{topic_of(events_pb2.DESCRIPTOR)}"

    def sent_events() -> list[str] | None:
        records = asyncio.run(read_all(platform.kafka_bootstrap_servers, topic, settle_seconds=1.0))
        ids = [
            str(header(r, "ce_id"))
            for r in records
            if header(r, "ce_type") == "regulars.messaging.v1.message_sent"
            and header(r, "ce_subject") == member_id
        ]
        return ids or None

    assert len(set(eventually(sent_events))) == 1


def heard_of_consent(platform: Stack, tenant_id: str, member_id: str, channel: str) -> None:
    """Waits until messaging's view of the member has the grant (members' member_consent_changed
    arrives a moment after the change: a send before it still sees the member as not agreeing)."""
    heard(platform, tenant_id, member_id, {f"consent.{channel}": True})


def heard(platform: Stack, tenant_id: str, member_id: str, fields: dict[str, Any]) -> None:
    """Waits until messaging's view of the member (fed by members' events) says `fields`."""
    client: MongoClient[Any]
    with MongoClient(platform.mongodb_url) as client:
        query = {"_id": f"{tenant_id}:{member_id}", "tenant_id": tenant_id, **fields}
        eventually(lambda: client[f"{platform.namespace}regulars_messaging"]["contacts"].find_one(query))


def test_a_staff_task_message_is_on_the_assistants_list_and_caps_name_their_rule(
    shop: Shop, platform: Stack
) -> None:
    api = shop.api
    staff = shop.post(f"/v1/stores/{shop.store}/staff", {"name": "Chen", "role": "assistant"})
    staff_id = staff["id"]
    as_staff = bearer(shop.post("/v1/sessions/staff", {"staff_id": staff_id})["token"])
    member = shop.post(
        "/v1/members", {"phone": "+8613912345678", "name": "Li", "staff_code": staff["referral_codes"][0]}
    )
    member_id = member["id"]
    agreed = api.put(  # consent is opt-in: the member agreed at the till to be called
        f"/v1/members/{member_id}/consent/phone", json={"granted": True}, headers=shop.crm
    )
    assert agreed.status_code == 200, agreed.text
    heard_of_consent(platform, shop.id, member_id, "phone")
    r = api.patch(
        "/v1/messaging-policy",
        json={"caps": [{"message_class": "care", "period": "day", "limit": 1}]},
        headers=shop.crm,
    )
    assert r.status_code == 200, r.text
    shop.template(
        "thanks-call",
        "care",
        {
            "staff_task": {
                "title": "Call {{ name }} to thank them",
                "body": "Thank {{ title }} {{ name }} for the visit.",
            }
        },
        task_due_hours=72,
    )
    shop.template("care-note", "care", {"inbox": {"title": "Thank you", "body": "See you soon, {{ name }}."}})

    call = shop.send(
        {"member_id": member_id, "message_key": f"call:{member_id}", "template_id": "thanks-call"}
    )
    assert (call["state"], call["channel"], call["staff_id"]) == ("sent", "staff_task", staff_id), call[
        "reason"
    ]
    tasks = api.get("/v1/staff/me/tasks", headers=as_staff).json()["items"]
    assert [(t["id"], t["title"], t["member_id"]) for t in tasks] == [
        (call["staff_task_id"], "Call Li to thank them", member_id)
    ]

    capped = shop.send(
        {
            "member_id": member_id,
            "message_key": f"note:{member_id}",
            "template_id": "care-note",
            "channels": ["inbox"],
        }
    )
    assert (capped["state"], capped["reason"]) == ("capped", "cap care 1 per day")


def test_the_channel_follows_the_preferred_channel_the_member_changed_to(shop: Shop, platform: Stack) -> None:
    api = shop.api
    staff = shop.post(f"/v1/stores/{shop.store}/staff", {"name": "Zhou", "role": "assistant"})
    member = shop.post(
        "/v1/members", {"phone": "+8613912340000", "name": "Li", "staff_code": staff["referral_codes"][0]}
    )
    member_id = member["id"]
    shop.template(
        "season-care",
        "care",
        {
            "inbox": {"title": "New season", "body": "Dear {{ name }}, the new collection is in."},
            "staff_task": {"title": "Tell {{ name }} about the new season", "body": "Invite them in."},
        },
    )
    body = {"member_id": member_id, "template_id": "season-care"}
    before = shop.send(body | {"message_key": f"season-1:{member_id}"})
    assert (before["state"], before["channel"]) == ("sent", "inbox")  # the policy's default order

    for change in (
        api.put(f"/v1/members/{member_id}/consent/phone", json={"granted": True}, headers=shop.crm),
        api.patch(f"/v1/members/{member_id}", json={"preferred_channel": "phone"}, headers=shop.headers),
    ):
        assert change.status_code == 200, change.text
    heard(platform, shop.id, member_id, {"consent.phone": True, "preferred_channel": "phone"})
    after = shop.send(body | {"message_key": f"season-2:{member_id}"})
    assert (after["state"], after["channel"], after["staff_id"]) == ("sent", "staff_task", staff["id"])


def test_bad_sends_name_the_field_and_change_nothing(shop: Shop) -> None:
    api = shop.api
    member_id, _ = shop.enrol()
    shop.template("order-ready", "transactional", INBOX_TEXT)
    base = {"member_id": member_id, "message_key": f"bad:{member_id}", "template_id": "order-ready"}

    unknown_template = api.post("/v1/messages", json=base | {"template_id": "nope"}, headers=shop.crm)
    bad_channel = api.post("/v1/messages", json=base | {"channels": ["fax"]}, headers=shop.crm)
    twice = api.post("/v1/messages", json=base | {"channels": ["sms", "sms"]}, headers=shop.crm)
    nobody = api.post(
        "/v1/messages", json=base | {"member_id": "01JNOBODY000000000000000000"}, headers=shop.crm
    )
    no_scope = api.post("/v1/messages", json=base, headers=shop.key("members:read"))

    assert (unknown_template.status_code, unknown_template.json()["field"]) == (400, "template_id")
    assert bad_channel.status_code == 422
    assert (twice.status_code, twice.json()["field"]) == (400, "channels[1]")
    assert nobody.status_code == 404
    assert no_scope.status_code == 403
    listed = api.get("/v1/messages", params={"member_id": member_id}, headers=shop.crm).json()["items"]
    assert listed == []


def test_a_wechat_subscription_counts_once_per_grant_and_only_for_its_member(shop: Shop) -> None:
    api = shop.api
    member_id, as_member = shop.enrol()
    other_id, _ = shop.enrol()
    grant = {"provider_template_id": "wx-tpl-1", "openid": "o-123", "grant_id": "g-1"}
    path = f"/v1/members/{member_id}/wechat-subscriptions"

    first = api.post(path, json=grant, headers=as_member)
    repeated = api.post(path, json=grant, headers=as_member)
    second = api.post(path, json=grant | {"grant_id": "g-2"}, headers=as_member)
    for_another = api.post(f"/v1/members/{other_id}/wechat-subscriptions", json=grant, headers=as_member)

    assert [r.json()["remaining"] for r in (first, repeated, second)] == [1, 1, 2]
    assert for_another.status_code == 404


def test_a_complaint_past_its_deadline_becomes_the_stores_escalation_task(
    shop: Shop, platform: Stack
) -> None:
    api = shop.api
    member_id, _ = shop.enrol()
    _, as_manager = shop.staff_session(shop.store, "Boss", role="manager")
    case = api.post(
        "/v1/cases",
        json={
            "member_id": member_id,
            "store_id": shop.store,
            "category": "product_quality",
            "severity": "high",
            "description": "The clasp broke.",
        },
        headers=shop.headers,
    )
    assert case.status_code == 201, case.text
    # The case clock, run as feedback's own loop would once the deadlines passed.
    with grpc.insecure_channel(platform.address("feedback").split(",")[0]) as channel:
        ran = feedback_pb2_grpc.FeedbackServiceStub(channel).RunCaseClock(
            feedback_pb2.RunCaseClockRequest(at=Timestamp(seconds=4_070_908_800)),
            timeout=30,  # 2099
        )
    assert ran.breaches >= 2
    breached = api.get(f"/v1/cases/{case.json()['id']}", headers=shop.headers).json()["sla_breaches"]
    assert sorted(breached) == ["first_response", "resolution"]

    def escalations() -> list[dict[str, Any]] | None:
        listed = api.get(f"/v1/stores/{shop.store}/staff-tasks", headers=as_manager)
        assert listed.status_code == 200, listed.text
        found = [t for t in listed.json()["items"] if t["member_id"] == member_id]
        return found if len(found) == len(breached) else None

    tasks = eventually(escalations)
    assert {(t["template_id"], t["staff_id"] or "", t["state"]) for t in tasks} == {
        ("complaint_escalation", "", "open")
    }
    assert {t["title"] for t in tasks} == {f"Complaint {case.json()['id']} is past its deadline"}
