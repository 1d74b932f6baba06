"""Request bodies bounded before they are read, per route.

Why: the event loop that serves the API also drives the engines. A body read
whole before its size is checked (one unauthenticated 1 GiB login) took the
daemon to 3 GB and stopped every campaign's pacing for 2.2 s. So a declared
``Content-Length`` over the route's limit is refused before one byte is read,
and a chunked body is counted as it arrives and refused at the chunk that
crosses the limit: the app never holds more than the limit plus one chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

__all__ = ["MAX_UPLOAD_BYTES", "DEFAULT_BYTES", "LOGIN_BYTES", "limit_for", "BodyLimit", "BodyTooLarge"]

MAX_UPLOAD_BYTES = 200 << 20  # a list of about two million rows; larger ones go through the CLI
DEFAULT_BYTES = 1 << 20  # any JSON request: settings, a disposition, a batch of DNC numbers
LOGIN_BYTES = 4 << 10  # a user name and a password

_LIMITS = ((re.compile(r"/api/v1/outbound/campaigns/\d+/contactlists"), MAX_UPLOAD_BYTES),
           (re.compile(r"/api/v1/auth/login"), LOGIN_BYTES))

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def limit_for(path: str) -> int:
    """The most bytes a request body to ``path`` may hold."""
    return next((limit for pattern, limit in _LIMITS if pattern.fullmatch(path)), DEFAULT_BYTES)


def _shown(limit: int) -> str:
    return f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit >> 10} KB"


class BodyTooLarge(HTTPException):
    """413, raised from inside the body's reading: an HTTPException, so FastAPI's body parsing passes it on
    instead of calling it a parse error (400)."""

    def __init__(self, limit: int) -> None:
        hint = "; use dialer lists import" if limit == MAX_UPLOAD_BYTES else ""
        super().__init__(413, f"body: larger than {_shown(limit)}{hint}")


class BodyLimit:
    """ASGI middleware: refuse a body over its route's limit, by its header or as it streams in."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, BodyTooLarge(limit))
            return
        bounded = _Bounded(receive, send, limit)
        await self.app(scope, bounded.receive, bounded.send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _Bounded:
    """One request's body, counted as the app reads it; the 413 it causes ends the connection, since the
    server would otherwise read the rest of the body to discard it."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.read = 0
        self.crossed = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                self.crossed = True
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if self.crossed and message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    """The 413 in the API's error shape, with ``Connection: close``: the unread body is never drained."""
    body = json.dumps({"detail": error.detail, "field": "body"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
