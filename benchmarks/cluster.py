"""Several daemons on one PostgreSQL: takeover time, claim throughput by daemon count, and a load run.

Run: python -m benchmarks.cluster [--kills 20] [--claim-seconds 15] [--minutes 10] [--agents 700] [--json F]
(needs DIALER_TEST_PG_URL, as the tests do; every part works in a database of its own, dropped at the end)

- takeover: two ``dialer serve`` processes, one campaign, leases of 3 s
  (renewed every 0.5 s, 0.5 s skew margin); kill -9 the owner, time until
  the other holds the lease (the store's row, polled every 20 ms), restart
  the killed one as the standby; ``--kills`` times.
- claim throughput: 1, 2 and 3 processes, each owning one campaign by
  lease, claiming 20 leads at a time through the fenced claim path (the
  lease row locked FOR SHARE, then ``claim_leads``) for ``--claim-seconds``.
- load: 3 daemons, each dialling its own campaign for ``--agents`` simulated
  agents in real time (speed 1) for ``--minutes``: claims per second, the
  store's p99 per claim and per written batch, the engines' tick lag p99,
  and the ledger checked afterwards (nothing lost, nothing doubled).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.cluster_helpers import (  # noqa: E402 - the repository's root is on the path from here
    cluster_config,
    fresh_database,
    lease_rows,
    make_pg_store,
    read_pg_ledger,
)
from tests.daemon_helpers import Running, check_bookkeeping, make_scenario, start_daemon, wait_for  # noqa: E402

LEASE_S = 3.0
CLAIM_AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris: the French window is open


@dataclass
class Figures:
    takeover_s: list[float]
    claims_per_s: dict[int, float]
    load: dict[str, float]


def _base_url() -> str:
    url = os.environ.get("DIALER_TEST_PG_URL")
    if not url:
        sys.exit("DIALER_TEST_PG_URL is not set: start PostgreSQL with .ci/postgres.sh and export the URL it prints")
    return url


# ---- takeover ---------------------------------------------------------------------------------------------------

def takeover_times(kills: int, folder: Path) -> list[float]:
    """Seconds from kill -9 of the owner to the other daemon's lease, ``kills`` times."""
    with fresh_database(_base_url()) as url:
        make_pg_store(url, leads=20000, campaigns=("Loans",))
        scenario = make_scenario(folder, agents=8)
        daemons = {name: _start(folder, url, scenario, name) for name in ("dialer-a", "dialer-b")}
        times: list[float] = []
        try:
            for k in range(kills):
                times.append(_kill_the_owner(url, daemons, folder, scenario))
                print(f"  kill {k + 1}: {times[-1]:.2f} s", flush=True)
        finally:
            for running in daemons.values():
                running.stop()
        return times


def _kill_the_owner(url: str, daemons: dict[str, Running], folder: Path, scenario: Path) -> float:
    """kill -9 the campaign's owner; the seconds until the other holds it; the killed one restarted."""
    assert wait_for(lambda: lease_rows(url)["Loans"][0] in daemons, 20)
    owner = lease_rows(url)["Loans"][0]
    assert owner is not None
    other = next(name for name in daemons if name != owner)
    time.sleep(1.0)  # dialling for a moment, calls in flight
    daemons[owner].kill()
    killed = time.monotonic()
    assert wait_for(lambda: lease_rows(url)["Loans"][0] == other, 30, 0.02)
    took_s = time.monotonic() - killed
    daemons[owner] = _start(folder, url, scenario, owner)
    return took_s


def _start(folder: Path, url: str, scenario: Path, name: str, speed: float = 20.0) -> Running:
    config = cluster_config(folder, url, scenario, name, LEASE_S, speed=speed)
    return start_daemon(config, folder / f"{name}-{time.monotonic_ns()}.log", timeout_s=60)


# ---- claim throughput -------------------------------------------------------------------------------------------

def _claimer(url: str, campaign: str, seconds: float, batch: int, start_at: float) -> int:
    """One daemon's claim path for ``seconds``: take the campaign's lease, then fenced claims of ``batch``."""
    from sqlalchemy import select

    from dialer.service.cluster import ensure_leases, holds, take
    from dialer.service.store_ports import settle
    from lists.models import Campaign
    from lists.selection import claim_leads
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        campaign_row = session.scalars(select(Campaign).where(Campaign.name == campaign)).one()
        ensure_leases(session, [campaign_row.id])
        fence = take(session, campaign_row.id, campaign, 600.0)
        assert fence is not None
        settle(session, fence)
    claimed = 0
    while time.time() < start_at:
        time.sleep(0.01)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with factory() as session:
            assert holds(session, fence)
            campaign_row = session.get(Campaign, fence.campaign_id)
            assert campaign_row is not None
            claimed += len(claim_leads(session, campaign_row, batch, CLAIM_AT, campaign, token=fence.token))
    factory.kw["bind"].dispose()
    return claimed


def claim_throughput(daemons: int, seconds: float, batch: int = 20) -> float:
    """Leads claimed per second by ``daemons`` processes together, each on its own campaign."""
    names = tuple(f"C{k}" for k in range(daemons))
    with fresh_database(_base_url()) as url:
        make_pg_store(url, leads=40000, campaigns=names, dial_mode="progressive")
        start_at = time.time() + 3.0
        with multiprocessing.get_context("spawn").Pool(daemons) as pool:
            counts = pool.starmap(_claimer, [(url, name, seconds, batch, start_at) for name in names])
    return sum(counts) / seconds


# ---- load -------------------------------------------------------------------------------------------------------

def _quantile(running: Running, name: str, q: float, label: str = "") -> float:
    """The ``q`` quantile of a Prometheus histogram, read from its buckets (the bucket's upper edge)."""
    _, body = running.get("/metrics")
    buckets: list[tuple[float, float]] = []
    for line in body.splitlines():
        if line.startswith(f"{name}_bucket") and label in line:
            edge = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(edge), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    return next((edge for edge, count in buckets if count >= q * total), float("nan")) if total else float("nan")


def load_run(minutes: float, agents: int, folder: Path) -> dict[str, float]:
    """3 daemons × ``agents`` agents, real time, ``minutes``: the figures and the ledger's verdict."""
    names = ("Loads1", "Loads2", "Loads3")
    with fresh_database(_base_url()) as url:
        make_pg_store(url, leads=30000, campaigns=names)
        scenario = make_scenario(folder, agents=agents)
        daemons = [_start(folder, url, scenario, f"dialer-{k}", speed=1.0) for k in range(3)]
        try:
            assert wait_for(lambda: len({o for o, _ in lease_rows(url).values()} - {None}) == 3, 60), lease_rows(url)
            time.sleep(30.0)  # the shifts log in and the first calls end
            claimed0 = sum(d.metric("dialer_leads_claimed_total") for d in daemons)
            started = time.monotonic()
            time.sleep(minutes * 60)
            elapsed = time.monotonic() - started
            figures = {
                "claims_per_s": (sum(d.metric("dialer_leads_claimed_total") for d in daemons) - claimed0) / elapsed,
                "claim_p99_s": max(_quantile(d, "dialer_store_seconds", 0.99, 'op="claim"') for d in daemons),
                "record_p99_s": max(_quantile(d, "dialer_store_seconds", 0.99, 'op="record"') for d in daemons),
                "tick_lag_p99_s": max(_quantile(d, "dialer_tick_lag_seconds", 0.99) for d in daemons),
            }
        finally:
            codes = [d.stop(120) for d in daemons]
        return {**figures, **_verdict(url, daemons), "exit_codes_ok": float(codes == [0, 0, 0])}


def _verdict(url: str, daemons: list[Running]) -> dict[str, float]:
    """Nothing lost: every attempt a daemon finished (its log line: lead and attempt number) is that lead's row of
    that number in the ledger; nothing doubled: no (lead, dial moment) twice; every lead settled.

    Why by key and not by count: a call still open when a drain times out
    is written then (interrupted), and if it ends before the process exits
    it is logged again; the ledger rightly keeps one row (store_ports: an
    attempt only for a lead still claimed and marked)."""
    finished = {(e["lead"], e["attempt"]) for d in daemons for e in d.events() if e.get("event") == "attempt"}
    ledger = read_pg_ledger(url)
    check_bookkeeping(ledger)
    seen: Counter[int] = Counter()
    rows = set()
    for attempt in ledger.attempts:  # ordered by lead and dial moment: the k-th row is attempt k
        seen[attempt["lead_id"]] += 1
        rows.add((attempt["lead_id"], seen[attempt["lead_id"]]))
    doubled = sum(n > 1 for n in Counter((a["lead_id"], a["dialled_at"]) for a in ledger.attempts).values())
    return {"attempts_finished": len(finished), "attempts_in_ledger": len(ledger.attempts),
            "lost": len(finished - rows), "doubled": doubled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--claim-seconds", type=float, default=15.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--agents", type=int, default=700)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    print("takeover:", flush=True)
    takeover = takeover_times(args.kills, folder) if args.kills else []
    claims = {n: claim_throughput(n, args.claim_seconds) for n in (1, 2, 3)}
    print("load:", flush=True)
    load = load_run(args.minutes, args.agents, folder) if args.minutes else {}
    figures = Figures(takeover, claims, load)
    _print(figures, args)
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")


def _print(f: Figures, args: argparse.Namespace) -> None:
    if f.takeover_s:
        p50 = statistics.median(f.takeover_s)
        print(f"\ntakeover (lease {LEASE_S:g} s, {len(f.takeover_s)} kills): p50 {p50:.2f} s, "
              f"max {max(f.takeover_s):.2f} s")
    print("\n| daemons | claims/s |\n| ---: | ---: |")
    for n, rate in f.claims_per_s.items():
        print(f"| {n} | {rate:,.0f} |")
    if f.load:
        print(f"\nload: 3 daemons x {args.agents} agents, {args.minutes:g} min")
        print("| measure | value |\n| --- | ---: |")
        for key, value in f.load.items():
            print(f"| {key} | {value:,.4g} |")


if __name__ == "__main__":
    main()
