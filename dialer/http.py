"""A minimal HTTP/1.1 server on asyncio for ``/livez``, ``/readyz`` and ``/metrics``.

Why not a framework yet: three read-only endpoints need no dependency, and a
later issue brings FastAPI. The handlers are plain functions of the daemon's
state returning a ``Response``, so they move to FastAPI unchanged. Each
request is answered and the connection closed (Prometheus and probes open a
connection per scrape). It runs on the daemon's event loop, so ``/metrics``
reads the engines without locks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

__all__ = ["Response", "Handler", "HttpServer", "json_response"]

log = logging.getLogger(__name__)
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 400: "Bad Request", 503: "Service Unavailable"}
_READ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[], Awaitable[Response]]


def json_response(status: int, payload: Mapping[str, object]) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


class HttpServer:
    """Routes ``GET path`` to a handler; anything else is 404 or 405."""

    def __init__(self, routes: Mapping[str, Handler], host: str, port: int):
        self.routes, self.host, self.port = routes, host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the bound port (``port = 0`` asks the system for a free one)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT_S)
            response = await self._route(head.split(b"\r\n", 1)[0].decode("latin-1"))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, UnicodeDecodeError):
            response = Response(400, b"bad request\n")
        try:
            writer.write(_encode(response))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _route(self, request_line: str) -> Response:
        parts = request_line.split()
        if len(parts) != 3:
            return Response(400, b"bad request\n")
        method, target, _version = parts
        handler = self.routes.get(target.split("?", 1)[0])
        if handler is None:
            return Response(404, b"not found\n")
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n")
        try:
            return await handler()
        except Exception:  # a broken handler must not take the daemon down
            log.exception("handler for %s failed", target)
            return Response(503, b"handler failed\n")


def _encode(response: Response) -> bytes:
    head = (f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}\r\n"
            f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("latin-1") + response.body
