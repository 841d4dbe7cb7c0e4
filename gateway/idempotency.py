"""`Idempotency-Key` on POST: a retry with the same key and body returns the first answer.

Keys are scoped to the authenticated caller and the route, kept `ttl` (24 h by default),
and claimed with a unique `_id` insert, so 20 simultaneous identical requests run the
handler once: the others wait for its answer. The same key with another body is a 422.
An answer of 5xx is not kept, so the client may retry it.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from bson.binary import Binary
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.mongo import Document
from gateway.errors import Problem, problem_response

IDEMPOTENCY_KEYS = "idempotency_keys"
HEADER = "idempotency-key"
_REPLAYED_HEADERS = ("content-type", "location")


class IdempotencyMiddleware:
    def __init__(
        self, app: ASGIApp, db: AsyncDatabase[Document], ttl: timedelta, wait_seconds: float = 10.0
    ) -> None:
        self.app = app
        self._keys = db[IDEMPOTENCY_KEYS]
        self._ttl = ttl
        self._wait = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        key = request.headers.get(HEADER)
        caller = await self._caller(request) if key else None
        if key is None or caller is None:  # no key, or the route will answer 401 itself
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            await self._problem(
                request,
                send,
                Problem(
                    400,
                    "invalid-idempotency-key",
                    "Invalid Idempotency-Key",
                    "Idempotency-Key must be 1 to 255 characters",
                    field="Idempotency-Key",
                ),
            )
            return
        body = await request.body()
        doc_id = hashlib.sha256(f"{caller}\n{scope['path']}\n{key}".encode()).hexdigest()
        body_sha = hashlib.sha256(body).hexdigest()
        stored = await self._claim(doc_id, body_sha)
        if stored is None:
            await self._run_and_keep(scope, body, send, doc_id)
        elif stored.get("body_sha") != body_sha:
            await self._problem(
                request,
                send,
                Problem(
                    422,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                    "this Idempotency-Key was used with a different request body",
                    field="Idempotency-Key",
                ),
            )
        else:
            await self._replay(request, send, doc_id, stored)

    async def _caller(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        scheme, _, credential = auth.partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return None
        caller = await request.app.state.auth.authenticate(credential)
        return None if caller is None else f"{caller.tenant_id}/{caller.subject}"

    async def _claim(self, doc_id: str, body_sha: str) -> Document | None:
        """None when this request claimed the key; else the existing record."""
        now = datetime.now(UTC)
        doc = {"_id": doc_id, "body_sha": body_sha, "state": "running", "expires_at": now + self._ttl}
        for _ in range(2):
            try:
                await self._keys.insert_one(doc)
                return None
            except DuplicateKeyError:
                existing = await self._keys.find_one({"_id": doc_id})
                if existing is None:
                    continue  # deleted meanwhile (a 5xx or an expiry): claim again
                if existing["expires_at"] <= now:
                    await self._keys.delete_one({"_id": doc_id, "expires_at": existing["expires_at"]})
                    continue
                return existing
        return await self._keys.find_one({"_id": doc_id})

    async def _run_and_keep(self, scope: Scope, body: bytes, send: Send, doc_id: str) -> None:
        sent_body = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def replay_body() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await self._keys.delete_one({"_id": doc_id})
            raise
        if status >= 500:
            await self._keys.delete_one({"_id": doc_id})
            return
        kept = {k.decode().lower(): v.decode() for k, v in headers if k.decode().lower() in _REPLAYED_HEADERS}
        await self._keys.update_one(
            {"_id": doc_id},
            {"$set": {"state": "done", "status": status, "headers": kept, "body": Binary(b"".join(chunks))}},
        )

    async def _replay(self, request: Request, send: Send, doc_id: str, stored: Document) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while stored.get("state") != "done":
            if loop.time() > deadline:
                await self._problem(
                    request,
                    send,
                    Problem(
                        409,
                        "request-in-progress",
                        "Request in progress",
                        "the first request with this Idempotency-Key is still running; retry later",
                        headers={"Retry-After": "1"},
                    ),
                )
                return
            await asyncio.sleep(0.05)
            found = await self._keys.find_one({"_id": doc_id})
            if found is None:  # the first attempt failed with a 5xx: let the client retry
                await self._problem(
                    request,
                    send,
                    Problem(
                        409,
                        "request-in-progress",
                        "Request failed",
                        "the first request with this Idempotency-Key failed; retry",
                        headers={"Retry-After": "1"},
                    ),
                )
                return
            stored = found
        headers: list[tuple[bytes, bytes]] = [
            (k.encode(), v.encode()) for k, v in stored.get("headers", {}).items()
        ]
        headers.append((b"idempotent-replayed", b"true"))
        body = bytes(stored.get("body", b""))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _problem(self, request: Request, send: Send, problem: Problem) -> None:
        response = problem_response(problem, request)
        await response(request.scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
