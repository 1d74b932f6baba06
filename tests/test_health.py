"""``/readyz`` says each check as it is: true when it holds, and ``draining`` true only while the daemon drains."""

from __future__ import annotations

import json

import pytest

from dialer.service.health import readiness


@pytest.mark.parametrize(("checks", "draining", "status"), [
    ({"store": True, "writer": True}, False, 200),
    ({"store": True, "writer": True}, True, 503),
    ({"store": False, "writer": True}, False, 503),
])
def test_readiness_says_each_check_as_it_is(checks, draining, status):
    answer = readiness(checks, draining)
    assert answer.status == status
    assert json.loads(answer.body) == {**checks, "draining": draining}


def test_an_answer_is_not_held_back_behind_its_headers():
    """The body leaves with the headers, not 40 ms later: the server's sockets send at once (TCP_NODELAY), so
    Nagle's wait for the client's delayed ACK does not hold every answer's last segment."""
    import asyncio
    import socket
    import statistics
    import time

    from dialer.service.http import ApiServer, listen

    async def app(scope, receive, send):  # two writes, as every ASGI answer: headers, then body
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def times(port: int) -> list[float]:
        out = []
        with socket.create_connection(("127.0.0.1", port)) as client:
            for _ in range(7):
                start, answer = time.perf_counter(), b""
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                while not answer.endswith(b"ok"):
                    answer += client.recv(4096)
                out.append(time.perf_counter() - start)
        return out

    async def main() -> list[float]:
        server = ApiServer(app, "127.0.0.1", 0)
        port = await server.start(listen("127.0.0.1", 0))
        try:
            return await asyncio.to_thread(times, port)
        finally:
            await server.stop()

    assert statistics.median(asyncio.run(main())) < 0.02  # seconds; 0.04 and more when held
