"""API speed: 200 concurrent simulated agents, a second process on loopback, timing the disposition round trip.

Run: python -m benchmarks.api [--agents 200] [--seconds 60] [--speed 20] [--json F]

The daemon (``dialer serve``, sim driver, ``[sim] agents = "api"``) runs as
its own process on a temporary SQLite store with one progressive campaign.
This process is the floor: each agent logs in with its own token, listens
on its WebSocket, and when the customer hangs up (state ``wrap_up``) posts
a disposition (a refusal with a reason, a callback or a sale, in turn). The
round trip is from sending the POST to reading its answer, on this side:
bearer authentication, the catalogue check (a store read on a thread),
``Engine.wrap_done`` and the answer. Target (issue 16): p99 under 50 ms.
The world runs ``--speed`` times faster than the wall clock, so the floor
carries that many times the dispositions of a real one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN = "Bench"


def _store(folder: Path, agents: int, leads: int) -> tuple[str, dict[str, str], int]:
    from dialer.service.users import Role, add_user, issue_token
    from lists.campaigns import create_campaign
    from lists.models import DUE_ANY_TIME, insert_new_leads
    from lists.store import open_store

    url = f"sqlite:///{folder / 'bench.db'}"
    factory = open_store(url)
    now = datetime.now(UTC)
    with factory() as session:
        campaign = create_campaign(session, CAMPAIGN, kind="loan-offer", rules_profile="fr", dial_mode="progressive",
                                   max_attempts=3, caller_id="+33142685300")
        insert_new_leads(session, campaign.id, DUE_ANY_TIME,
                         [(f"+3314{k:07d}", f"Person {k}", "FR", "Europe/Paris", "{}") for k in range(leads)])
        tokens = {}
        for k in range(agents):
            name = f"agent{k:03d}"
            add_user(session, name, Role.AGENT, now, campaigns=(CAMPAIGN,))
            tokens[name] = issue_token(session, name, now, "bench")
        session.commit()
        campaign_id = campaign.id
    factory.kw["bind"].dispose()
    return url, tokens, campaign_id


def _config(folder: Path, url: str, speed: float) -> Path:
    from tests.daemon_helpers import make_config, make_scenario

    scenario = make_scenario(folder, agents=1)
    config = make_config(folder, url, scenario, speed=speed, drain_timeout_s=5)
    config.write_text(config.read_text() + 'agents = "api"\n', encoding="utf-8")
    return config


def _start(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    out = log.open("w")
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--config", str(config)], cwd=REPO,
                               stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if '"event": "ready"' in line:
                return process, json.loads(line)["http_port"]
        if process.poll() is not None:
            raise SystemExit(f"the daemon exited:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the daemon did not start in 60 s")


_BODIES = ({"outcome": "refused", "refusal_reason": "too_expensive"}, {"outcome": "wrong_number"},
           {"outcome": "accepted", "order": {"product": "loan", "amount": 5000}})


async def _agent(port: int, name: str, token: str, campaign_id: int, until: float, times: list[float],
                 errors: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        async with connect(f"ws://127.0.0.1:{port}/api/v1/agents/me/events", additional_headers=headers) as ws:
            login = await client.post("/api/v1/agents/me/login", json={"campaign_id": campaign_id})
            if login.status_code != 200:
                errors.append(f"login {login.status_code}")
                return
            turn = 0
            while time.monotonic() < until:
                try:
                    event = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, until - time.monotonic())))
                except TimeoutError:
                    break
                if event["state"] != "wrap_up":
                    continue
                body = dict(_BODIES[turn % len(_BODIES)])
                if turn % 7 == 6:
                    body = {"outcome": "callback", "callback_owner": "own",
                            "callback_at": (datetime.fromisoformat(event["at"]) + timedelta(days=1)).isoformat()}
                turn += 1
                started = time.perf_counter()
                try:
                    answer = await client.post("/api/v1/agents/me/contact/disposition", json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"disposition {type(exc).__name__}")
                    continue
                times.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    errors.append(f"disposition {answer.status_code} {answer.text[:80]}")
            with contextlib.suppress(httpx.HTTPError):
                await client.post("/api/v1/agents/me/logout")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _floor(port: int, tokens: dict[str, str], campaign_id: int, seconds: float) -> dict[str, object]:
    times: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(_agent(port, name, token, campaign_id, until, times, errors)
                           for name, token in tokens.items()))
    ms = [t * 1000 for t in times]
    return {"agents": len(tokens), "seconds": seconds, "dispositions": len(ms), "errors": len(errors),
            "first_errors": errors[:3], "per_s": len(ms) / seconds,
            "p50_ms": statistics.median(ms) if ms else None, "p99_ms": _quantile(ms, 0.99) if ms else None,
            "max_ms": max(ms) if ms else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="wall seconds of dispositions to time")
    parser.add_argument("--speed", type=float, default=20.0, help="simulated seconds per wall second")
    parser.add_argument("--leads", type=int, default=30000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, tokens, campaign_id = _store(folder, args.agents, args.leads)
        process, port = _start(_config(folder, url, args.speed), folder / "daemon.log")
        try:
            result = asyncio.run(_floor(port, tokens, campaign_id, args.seconds))
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        result["daemon_exit"] = code
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
