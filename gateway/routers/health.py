"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from gateway.deps import ClientsDep
from gateway.errors import Problem
from gateway.schemas.problems import responses

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", description="The gateway process answers.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when every service behind the gateway answers grpc.health.v1 SERVING.",
    responses=responses(503),
)
async def readyz(clients: ClientsDep, request: Request) -> dict[str, str]:
    names = sorted(clients.channels)
    states = await asyncio.gather(*(clients.serving(n) for n in names))
    down = [n for n, ok in zip(names, states, strict=True) if not ok]
    if down:
        raise Problem(
            503,
            "service-unavailable",
            "Not ready",
            f"not serving: {', '.join(down)}",
            headers={"Retry-After": "1"},
        )
    return {"status": "ready"}
