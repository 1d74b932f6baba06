"""What ops read of a daemon: liveness, readiness with each check named, Prometheus metrics, the systemd watchdog.

Why apart from the daemon: these answer probes and never change the floor.
The daemon gathers its readiness checks (its own state); this module turns
them into answers, and probes the store on a thread, so a store that hangs
makes ``/readyz`` say 503 in ``STORE_PROBE_S`` rather than hold the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Executor

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session, sessionmaker

from dialer.service.http import Response, json_response
from dialer.service.metrics import Metrics
from dialer.service.notify import notify, watchdog_interval_s
from lists.store import ping

__all__ = ["STORE_PROBE_S", "alive", "readiness", "store_answers", "metrics_page", "watchdog"]

STORE_PROBE_S = 2.0  # seconds the store has to answer a readiness probe


def alive() -> Response:
    return Response(200, b"ok\n")


def readiness(checks: Mapping[str, bool], draining: bool) -> Response:
    """200 when every check holds and the daemon is not draining, else 503. The body names each check (true:
    it holds) and says ``draining`` as it is, so ops see which one failed."""
    return json_response(200 if all(checks.values()) and not draining else 503, {**checks, "draining": draining})


async def store_answers(factory: sessionmaker[Session], thread: Executor) -> bool:
    """The store answered a trivial query within ``STORE_PROBE_S``; any failure to answer means no."""
    try:
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(thread, ping, factory), STORE_PROBE_S)
    except Exception:
        return False
    return True


def metrics_page(metrics: Metrics) -> Response:
    return Response(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)


async def watchdog() -> None:
    """WATCHDOG=1 to systemd from the event loop, at half its interval (none without ``WatchdogSec``)."""
    interval = watchdog_interval_s()
    while interval:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
