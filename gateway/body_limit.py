"""A cap on request bodies, enforced before anything reads them, as plain ASGI middleware.

A declared `Content-Length` over the cap is refused without reading a byte. Otherwise the body
is read here, counting the bytes as they stream in (a chunked upload declares no length), and
refused as soon as the count passes the cap; only a body within it reaches the app. Reading it
here rather than failing the app's own read mid-way: FastAPI turns an error while it reads a
body into a 400, and the idempotency middleware and the routes read the whole body anyway.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import Problem, problem_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(receive, message), send)
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(receive, {"type": "http.request", "body": bytes(body)}), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = Problem(
            413,
            "payload-too-large",
            "Request body too large",
            f"the request body may be at most {self.max_bytes} bytes",
            headers={"Connection": "close"},  # the rest of the body is never read
        )
        await problem_response(problem, Request(scope))(scope, _disconnected, send)


def _replay(receive: Receive, first: Message) -> Receive:
    """A `receive` that gives `first` (the whole body, read here), then what the client sends."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}
