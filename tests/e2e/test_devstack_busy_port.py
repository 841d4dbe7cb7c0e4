"""A test stack whose gateway port was taken between picking it and binding it (another
process's ephemeral port) starts its gateway on a fresh port instead of failing the test."""

from __future__ import annotations

import socket

import httpx

from devstack.processes import SERVICES, Stack, free_port
from tests.support import fresh_namespace, server_urls


def test_a_gateway_port_taken_before_start_up_is_picked_again() -> None:
    mongodb, kafka = server_urls()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        stack = Stack(
            mongodb_url=mongodb,
            kafka_bootstrap_servers=kafka,
            namespace=fresh_namespace(),
            ports={name: free_port() for name in SERVICES} | {"gateway": taken},
        )
        try:
            stack.start_all()
            assert stack.ports["gateway"] != taken
            assert httpx.get(f"{stack.gateway_url}/readyz", timeout=5).status_code == 200
        finally:
            stack.stop_all()
