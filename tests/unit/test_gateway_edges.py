"""The gateway's edges, in process with fake services: body size, tenant checks, rate-limit headers.

The fakes replace the generated gRPC stubs, so these run without servers and see every call
the gateway would have made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import grpc
import pytest
from fastapi.testclient import TestClient
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.app import create_app
from gateway.settings import GatewaySettings

A = {"Authorization": "Bearer key-a"}
B = {"Authorization": "Bearer key-b"}
MEMBER_OF_A = members_pb2.Member(id="m-a", phone="+8613800138000", name="Wall", home_store_id="sh-01")


def not_found(detail: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), details=detail
    )


class FakeService:
    """A stub whose every RPC records (name, request, metadata) and answers from `replies`."""

    calls: ClassVar[list[tuple[str, Any, Any]]] = []
    replies: ClassVar[dict[str, Any]] = {}

    def __init__(self, channel: object) -> None:
        pass

    def __getattr__(self, rpc: str) -> Any:
        async def call(request: Any, **options: Any) -> Any:
            self.calls.append((rpc, request, options.get("metadata")))
            reply = self.replies[rpc](request) if rpc in self.replies else None
            if isinstance(reply, Exception):
                raise reply
            return reply

        return call


class FakeMembers(FakeService):
    calls: ClassVar[list[tuple[str, Any, Any]]] = []
    replies: ClassVar[dict[str, Any]] = {
        "GetMember": lambda r: (
            MEMBER_OF_A
            if (r.tenant_id, r.member_id) == ("tenant-a", "m-a")
            else not_found(f"member {r.member_id} not found")
        )
    }


class FakeCoupons(FakeService):
    calls: ClassVar[list[tuple[str, Any, Any]]] = []
    replies: ClassVar[dict[str, Any]] = {
        "ValidateCart": lambda r: coupons_pb2.ValidateCartResponse(cart_total=15000)
    }


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    FakeMembers.calls, FakeCoupons.calls = [], []
    monkeypatch.setattr(members_pb2_grpc, "MembersServiceStub", FakeMembers)
    monkeypatch.setattr(coupons_pb2_grpc, "CouponsServiceStub", FakeCoupons)
    monkeypatch.setattr(messaging_pb2_grpc, "MessagingServiceStub", FakeService)
    settings = GatewaySettings(
        members_grpc_addr="127.0.0.1:1",
        coupons_grpc_addr="127.0.0.1:1",
        messaging_grpc_addr="127.0.0.1:1",
        feedback_grpc_addr="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1/",
        gateway_token_secret="s" * 40,
        gateway_api_keys={"key-a": "tenant-a", "key-b": "tenant-b"},
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


CART = {"member_id": "m-a", "lines": [{"sku": "LIP-01", "unit_price": 15000}]}


def test_a_cart_for_another_tenants_member_is_not_found_and_never_checked(api: TestClient) -> None:
    r = api.post("/v1/coupons/validate", json=CART, headers=B)
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json"), r.text
    assert FakeCoupons.calls == []


def test_a_cart_for_our_own_member_is_checked(api: TestClient) -> None:
    r = api.post("/v1/coupons/validate", json=CART, headers=A)
    assert r.status_code == 200, r.text
    assert [name for name, _, _ in FakeCoupons.calls] == ["ValidateCart"]


def test_an_oversized_body_is_refused_with_413_before_it_is_parsed(api: TestClient) -> None:
    not_json = b"{" + b" " * (1024 * 1024 + 1)  # parsing it would answer 422
    r = api.post("/v1/members", content=not_json, headers={**A, "Content-Type": "application/json"})
    assert (r.status_code, r.headers["content-type"]) == (413, "application/problem+json"), r.text
    assert r.json()["type"] == "/problems/payload-too-large"
    assert "X-Request-Id" in r.headers
    assert FakeMembers.calls == []


def test_a_streamed_body_without_a_length_is_counted_and_refused_past_the_limit(api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(17):
            yield b" " * 65536

    r = api.post("/v1/members", content=chunks(), headers={**A, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text


def test_a_body_within_the_limit_is_parsed_as_before(api: TestClient) -> None:
    r = api.post("/v1/members", content=b"{" + b" " * 1000, headers={**A, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/v1/members/m-b", None, 404),  # the service's NOT_FOUND
        ("POST", "/v1/members", {"phone": 1}, 422),  # the gateway's validation
        ("POST", "/v1/coupons/validate", CART, 404),  # the gateway's own check
    ],
)
def test_problem_answers_carry_the_rate_limit_headers(
    api: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    r = api.request(method, path, json=body, headers=B)
    assert r.status_code == status, r.text
    assert all(h in r.headers for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))
    assert int(r.headers["RateLimit-Remaining"]) >= 0
