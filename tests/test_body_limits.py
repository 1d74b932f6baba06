"""Request bodies are bounded before they are read: a 1 GiB login neither fills memory nor stalls the engines.

In-process, the middleware is fed an endless body and counts the chunks the app pulled. Against a real
daemon, 1 GiB logins go for 3 s, by turns with ``Content-Length`` and chunked, while the process's memory
is watched and the engines' own lag histogram (``dialer_tick_lag_seconds``) is compared with a quiet 3 s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from dialer.api.limits import DEFAULT_BYTES, LOGIN_BYTES, MAX_UPLOAD_BYTES, BodyLimit, BodyTooLarge, limit_for
from tests.api_helpers import start_api_daemon

CHUNK = 64 << 10
GIB = 1 << 30


def test_each_route_has_its_limit() -> None:
    assert limit_for("/api/v1/auth/login") == LOGIN_BYTES <= 4096
    assert limit_for("/api/v1/outbound/campaigns/12/contactlists") == MAX_UPLOAD_BYTES
    assert limit_for("/api/v1/outbound/campaigns/12/settings") == DEFAULT_BYTES


def _pulled_by(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[dict]]:
    """Chunks an app reading the whole body pulls through the middleware from an endless body; what it sent."""
    pulled, sent = 0, []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:  # reads to the end, as request.body() does
        while (await receive()).get("more_body"):
            pass

    scope = {"type": "http", "path": path, "headers": headers}
    try:
        asyncio.run(BodyLimit(app)(scope, receive, send))
    except BodyTooLarge as exc:
        sent.append({"raised": exc.status_code})
    return pulled, sent


def test_a_chunked_body_is_refused_at_the_chunk_that_crosses_the_limit() -> None:
    for path, limit in (("/api/v1/auth/login", LOGIN_BYTES), ("/api/v1/outbound/campaigns/1", DEFAULT_BYTES)):
        pulled, sent = _pulled_by(path, [(b"transfer-encoding", b"chunked")])
        assert pulled * CHUNK <= limit + CHUNK
        assert sent == [{"raised": 413}]


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read() -> None:
    pulled, sent = _pulled_by("/api/v1/auth/login", [(b"content-length", str(GIB).encode())])
    assert pulled == 0
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"detail": "body: larger than 4 KB", "field": "body"}


def _lag_buckets(running) -> dict[float, float]:
    _, text = running.get("/metrics")
    return {float(line.split('le="')[1].split('"')[0]): float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("dialer_tick_lag_seconds_bucket")
            and 'le="+Inf"' not in line}


def _between(earlier: dict[float, float], later: dict[float, float]) -> dict[float, float]:
    return {le: later[le] - earlier.get(le, 0.0) for le in later}


def _p99(buckets: dict[float, float]) -> float:
    """The smallest bucket bound holding 99% of the wake-ups (a 2-core CI machine has its own lag: the attack
    must not add to it)."""
    total = max(buckets.values())
    return min(le for le, n in buckets.items() if n >= 0.99 * total)


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _send_gib(port: int, chunked: bool) -> tuple[int, bytes]:
    """POST 1 GiB to the login route until the server stops taking it; the bytes sent and its answer."""
    head = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {GIB}"
    request = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"{head}\r\n\r\n").encode()
    piece = (f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n") if chunked else b"x" * CHUNK
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        try:
            while sent < GIB:
                sock.sendall(piece)
                sent += CHUNK
        except OSError:  # the server answered and closed: the rest is never read
            pass
        sock.settimeout(10)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return sent, answer


@pytest.mark.daemon
def test_one_gib_logins_are_refused_without_memory_or_engine_lag(tmp_path: Path) -> None:
    daemon = start_api_daemon(tmp_path, agents="simulated", speed=20.0)
    try:
        pid = daemon.running.process.pid
        time.sleep(2.0)  # the engines are dialling
        quiet = _lag_buckets(daemon.running)
        time.sleep(3.0)  # the machine's own lag, with no attack, over as long as the attack
        before, rss = _lag_buckets(daemon.running), _rss_bytes(pid)
        peak = [rss]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                peak.append(_rss_bytes(pid))

        watcher = threading.Thread(target=watch)
        watcher.start()
        answers = []
        try:
            end = time.monotonic() + 3.0  # long enough for the engines to wake up many times meanwhile
            while time.monotonic() < end:
                answers += [_send_gib(daemon.running.port, chunked) for chunked in (False, True)]
        finally:
            done.set()
            watcher.join()
        after = _lag_buckets(daemon.running)
        for sent, answer in answers:  # a close with the body unread may reset the connection before the 413
            assert answer.startswith(b"HTTP/1.1 413") or answer == b"", answer[:200]  # is read: no answer, then
            assert sent < GIB // 8, f"the server kept reading: {sent} bytes taken"
        read = [answer for _, answer in answers if answer]
        assert read and all(b'"field":"body"' in a.replace(b" ", b"") for a in read)
        assert max(peak) - rss < 64 << 20, "the body was held in memory"
        ticks, control = _between(before, after), _between(quiet, before)
        assert max(ticks.values()) >= 20, f"too few engine wake-ups to measure: {ticks}"
        assert _p99(ticks) <= max(0.05, _p99(control)), \
            f"wake-up lag p99 over 50 ms (and over the quiet machine's) while refusing: {ticks}, quiet {control}"
        assert daemon.running.get("/readyz")[0] == 200
    finally:
        daemon.close()
        assert daemon.running.stop() == 0
