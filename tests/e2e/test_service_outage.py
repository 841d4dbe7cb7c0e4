"""A service that is down gives fast 503 problems; the gateway recovers when it is back."""

from __future__ import annotations

import httpx

from devstack.processes import Stack, free_port
from tests.support import eventually, fresh_namespace, server_urls

KEY = {"Authorization": "Bearer key-outage"}


def test_a_killed_service_gives_503_with_retry_after_then_recovers() -> None:
    mongodb, kafka = server_urls()
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={n: free_port() for n in ("members", "coupons", "messaging", "feedback", "gateway")},
        api_keys={"key-outage": "tenant-outage"},
    )
    try:
        stack.start("members")
        stack.start("gateway")
        # A short client timeout: a hung request fails the test instead of passing slowly.
        with httpx.Client(base_url=stack.gateway_url, timeout=5) as api:
            member = api.post(
                "/v1/members", json={"phone": "+8613900001111", "name": "Li"}, headers=KEY
            ).json()
            assert api.get(f"/v1/members/{member['id']}", headers=KEY).status_code == 200

            stack.processes["members"].kill()
            down = api.get(f"/v1/members/{member['id']}", headers=KEY)
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["Retry-After"] == "1"
            assert down.json()["type"] == "/problems/service-unavailable"
            assert api.get("/readyz").status_code == 503

            stack.start("members")
            back = eventually(lambda: api.get(f"/v1/members/{member['id']}", headers=KEY).status_code == 200)
            assert back is True
    finally:
        stack.stop_all()
