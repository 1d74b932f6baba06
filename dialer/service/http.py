"""The daemon's HTTP server: uvicorn serving the ASGI app (``dialer.api``) on the daemon's own event loop.

Why on the same loop: the API reads and drives the engines, which belong to
that loop, so handlers touch them without locks and engine inputs are
ordered with telephony events. Uvicorn's own signal handling is turned off
(the daemon owns SIGTERM and drains first), its access log too (a URL may
carry an identifier; the JSON log has what ops need). Health handlers are
plain functions of the daemon's state returning a ``Response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn

from dialer.errors import DialerError

__all__ = ["Response", "Handler", "ApiServer", "ListenError", "listen", "json_response"]

log = logging.getLogger(__name__)
_SHUTDOWN_S = 3  # wall seconds open connections (WebSockets) get to close at exit
_KEEP_ALIVE_S = 75  # idle keep-alive, seconds: longer than a client's (httpx 5 s) and a proxy's (nginx 60 s), so
# the server never closes a connection the client is about to reuse (a race that fails the request)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[], Awaitable[Response]]


def json_response(status: int, payload: Mapping[str, object]) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


class ListenError(DialerError):
    """The HTTP port cannot be opened (in use, not allowed): a start-up failure, told in one line."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port = 0``: any free one), bound before the daemon touches its
    campaigns, so a port in use stops start-up before anything runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it the body
    # of every answer waited 40 ms behind its headers (Nagle against the client's delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(f"http {host}:{port}: cannot listen: {exc.strerror or exc}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class ApiServer(uvicorn.Server):
    """Uvicorn on the running loop: ``await start()`` returns the bound port, ``await stop()`` closes."""

    def __init__(self, app: Any, host: str, port: int, trusted_proxies: tuple[str, ...] = ()):
        """``trusted_proxies``: whose X-Forwarded-For/-Proto set the client's address and scheme (none: the
        headers are ignored, since anyone can send them)."""
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                                        proxy_headers=bool(trusted_proxies),
                                        forwarded_allow_ips=list(trusted_proxies) or None,
                                        lifespan="off", ws="wsproto", timeout_graceful_shutdown=_SHUTDOWN_S,
                                        timeout_keep_alive=_KEEP_ALIVE_S,
                                        server_header=False))
        self.host, self.port = host, port
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The daemon handles SIGTERM and SIGINT (drain first); uvicorn must not."""
        yield

    async def start(self, sock: socket.socket) -> int:
        """Serve on ``sock`` (from ``listen``); returns its port."""
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self.serve(sockets=[sock]))
        while not self.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        self.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
