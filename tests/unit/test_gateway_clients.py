"""The gateway's clients: one call path (deadline, metadata, errors) and one mapping per message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import grpc
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.rpc import error_details_pb2, status_pb2
from regulars.coupons.v1 import coupons_pb2
from regulars.members.v1 import members_pb2

from gateway import deps, errors
from gateway.clients.calls import Calls
from gateway.clients.coupons_mapping import benefit_out, benefit_pb
from gateway.clients.members import MembersClient
from gateway.clients.members_mapping import purchase_line_out, purchase_line_pb
from gateway.clients.pb_time import moment, timestamp
from gateway.errors import Problem
from gateway.identity import SCOPES, Caller
from gateway.schemas.coupons import BenefitBody, ValidateCartBody
from gateway.schemas.purchases import PurchaseLineBody


class Recorder:
    """An RPC that records how it was called and answers `reply` (raises it if an exception)."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.options: dict[str, Any] = {}

    async def __call__(self, message: Any, **options: Any) -> Any:
        self.message, self.options = message, options
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def rpc_error(code: grpc.StatusCode, details: str, field: str | None = None) -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata()
    if field:
        bad = error_details_pb2.BadRequest(field_violations=[{"field": field, "description": details}])
        status = status_pb2.Status(code=code.value[0], message=details)
        status.details.add().Pack(bad)
        trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details=details)


async def test_a_call_carries_the_deadline_and_the_requests_metadata() -> None:
    rpc: Any = Recorder(members_pb2.Member(id="m1"))
    calls = Calls(
        timeout=3.0, metadata=grpc.aio.Metadata(("x-request-id", "req-1"), ("traceparent", "00-ab-cd-01"))
    )
    reply = await calls(rpc, members_pb2.GetMemberRequest(member_id="m1"))
    assert reply.id == "m1"
    assert rpc.options == {
        "timeout": 3.0,
        "metadata": (("x-request-id", "req-1"), ("traceparent", "00-ab-cd-01")),
    }
    await calls(rpc, members_pb2.GetMemberRequest(), deadline_seconds=15.0)
    assert rpc.options["timeout"] == 15.0


async def test_a_failed_call_is_a_problem_naming_the_field() -> None:
    rpc: Any = Recorder(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "phone is not a phone number", "phone"))
    with pytest.raises(Problem) as raised:
        await Calls(timeout=1.0)(rpc, members_pb2.GetMemberRequest())
    assert (raised.value.status, raised.value.field) == (400, "phone")


async def test_an_unavailable_service_is_a_503_with_retry_after_and_no_internals() -> None:
    rpc: Any = Recorder(rpc_error(grpc.StatusCode.UNAVAILABLE, "connect failed to 10.0.0.5:50051"))
    with pytest.raises(Problem) as raised:
        await Calls(timeout=1.0)(rpc, members_pb2.GetMemberRequest())
    assert (raised.value.status, raised.value.headers) == (503, {"Retry-After": "1"})
    assert "10.0.0.5" not in raised.value.detail


class FakeStub:
    def __init__(self) -> None:
        self.GetMember = Recorder(members_pb2.Member(id="m1", home_store_id="sh-01", owner_staff_id="s-9"))


async def test_a_staff_sessions_member_check_goes_through_the_members_client_with_metadata() -> None:
    stub: Any = FakeStub()
    members = MembersClient(
        stub, Calls(timeout=2.0, metadata=grpc.aio.Metadata(("x-request-id", "req-7"))), preview_timeout=9.0
    )
    assistant = Caller("t1", "staff", "s-1", frozenset(SCOPES), store_id="sh-01", role="assistant")
    with pytest.raises(Problem) as raised:
        await deps.ensure_may_see_member(members, assistant, "m1")
    assert raised.value.status == 404
    assert stub.GetMember.options["metadata"] == (("x-request-id", "req-7"),)
    manager = Caller("t1", "staff", "s-2", frozenset(SCOPES), store_id="sh-01", role="manager")
    await deps.ensure_may_see_member(members, manager, "m1")


def test_a_benefit_survives_the_trip_to_protobuf_and_back() -> None:
    body = BenefitBody(kind="threshold", amount_off=5000, threshold=30000, repeating=True, max_discount=20000)
    pb = benefit_pb(body)
    assert pb.kind == coupons_pb2.COUPON_KIND_THRESHOLD
    assert benefit_out(pb).model_dump() == body.model_dump()


def test_a_purchase_line_survives_the_trip_to_protobuf_and_back() -> None:
    line = PurchaseLineBody(
        sku="LIP-01", brand="Rouge Co", category="Lipstick", quantity=2, list_price=64000, paid_price=57600
    )
    assert purchase_line_out(purchase_line_pb(line)) == line


def store_app(store_id: str | None) -> TestClient:
    """A one-route app whose caller is restricted to `store_id` (None: not restricted)."""
    app = FastAPI()
    errors.install(app)

    @app.post("/carts")
    async def check(
        body: Annotated[ValidateCartBody, deps.in_callers_store(ValidateCartBody)],
    ) -> dict[str, str]:
        return {"store_id": body.store_id}

    app.dependency_overrides[deps._caller] = lambda: Caller(
        "t1", "api_key", "k1", frozenset(), store_id=store_id
    )
    return TestClient(app)


CART = {"member_id": "m1", "lines": [{"sku": "LIP-01", "unit_price": 100}]}


@pytest.mark.parametrize(
    ("restricted_to", "sent", "status", "store"),
    [
        ("sh-01", "", 200, "sh-01"),  # the credential's store by default
        ("sh-01", "sh-01", 200, "sh-01"),
        ("sh-01", "sh-02", 403, None),
        (None, "sh-02", 200, "sh-02"),
        (None, "", 200, ""),
    ],
)
def test_a_credential_restricted_to_a_store_acts_only_there(
    restricted_to: str | None, sent: str, status: int, store: str | None
) -> None:
    r = store_app(restricted_to).post("/carts", json={**CART, "store_id": sent})
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json() == {"store_id": store}
    else:
        assert r.json()["field"] == "store_id"


def test_an_invalid_body_is_a_422_before_the_store_is_checked() -> None:
    r = store_app("sh-01").post("/carts", json={"member_id": "m1", "lines": [], "store_id": "sh-02"})
    assert (r.status_code, r.json()["field"]) == (422, "lines")
    assert len(r.json()["errors"]) == 1


def test_timestamps_are_utc() -> None:
    at = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert moment(timestamp(at)) == at
