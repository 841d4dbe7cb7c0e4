"""Bare servers to compare against: FastAPI alone, and FastAPI making one gRPC echo call.

`python -m bench.baselines http PORT` / `grpc PORT` / `http-grpc PORT GRPC_PORT`.
They use the same stack as the platform (uvicorn + uvloop + httptools, grpc.aio + uvloop), so
the ratio platform/baseline shows what our own code costs.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import uvicorn
import uvloop
from fastapi import FastAPI

ECHO = "/bench.Echo/Echo"


def _identity(b: bytes) -> bytes:
    return b


async def grpc_echo_server(port: int) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {"Echo": grpc.unary_unary_rpc_method_handler(echo, _identity, _identity)},
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def http_app(grpc_port: int | None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if grpc_port is None:
            yield
            return
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            app.state.echo = channel.unary_unary(
                ECHO, request_serializer=_identity, response_deserializer=_identity
            )
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/echo")
    async def echo() -> dict[str, str]:
        reply: bytes = await app.state.echo(b"ping", timeout=3)
        return {"echo": reply.decode()}

    return app


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "grpc":
        uvloop.run(grpc_echo_server(port))
    else:
        upstream = int(sys.argv[3]) if kind == "http-grpc" else None
        uvicorn.run(
            http_app(upstream),
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
        )
