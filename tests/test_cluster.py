"""Fault tests of several daemons on one PostgreSQL: real ``dialer serve`` processes, short leases (3 s).

- two daemons on the same campaigns: no lead claimed twice, no attempt written twice, and each says the
  campaign the other holds is not dialled here: its lease is held by the other daemon (as the store says too);
- kill -9 one: the other takes its campaign within lease + 5 s, and the ledger stays consistent;
- SIGSTOP the owner past its lease, then SIGCONT: it dials nothing more, its writes are refused, and the new
  owner applies the results of its calls in progress (DNC requests among them) in place of "interrupted";
- restart PostgreSQL (a private server) mid-campaign: every attempt accounted for, dialing resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import tomli_w

from tests.cluster_helpers import (
    base_url,
    cluster_config,
    fresh_database,
    lease_rows,
    make_pg_store,
    private_server,
    read_pg_ledger,
)
from tests.daemon_helpers import REPO, Running, check_bookkeeping, make_scenario, now_utc, start_daemon, wait_for

LEASE_S = 3.0
pytestmark = pytest.mark.xdist_group("cluster")  # one worker: the daemons' timings are not shared with each other


@pytest.fixture
def store(tmp_path) -> Iterator[str]:
    with fresh_database(base_url()) as url:
        make_pg_store(url, leads=600)
        yield url


def _pair(tmp_path: Path, url: str, log_level: str = "info", drain_timeout_s: float = 5.0,
          asking_dnc: float = 0.0) -> tuple[Running, Running]:
    """Two daemons of the cluster; ``drain_timeout_s``: how long their hand-overs and SIGTERM wait for calls;
    ``asking_dnc``: the share of people reached who ask not to be called again (in place of accepting)."""
    scenario = make_scenario(tmp_path, agents=8)
    if asking_dnc:
        data = tomllib.loads(scenario.read_text(encoding="utf-8"))
        data["outcomes"].update(success_code="dnc_request", conversion=asking_dnc)
        scenario.write_text(tomli_w.dumps(data), encoding="utf-8")
    a, b = (start_daemon(cluster_config(tmp_path, url, scenario, name, LEASE_S, log_level=log_level,
                                        drain_timeout_s=drain_timeout_s), tmp_path / f"{name}.log")
            for name in ("dialer-a", "dialer-b"))
    return a, b


def _owners(url: str) -> dict[str, str | None]:
    return {name: owner for name, (owner, _) in lease_rows(url).items()}


def _check_no_doubles(url: str) -> None:
    """Every lead settled and consistent, no (lead, dial moment) twice."""
    ledger = read_pg_ledger(url)
    twice = [k for k, n in Counter((a["lead_id"], a["dialled_at"]) for a in ledger.attempts).items() if n > 1]
    assert not twice, twice
    check_bookkeeping(ledger)


def _admin_token(url: str) -> str:
    """An admin's API token in the cluster's store (an admin sees every campaign)."""
    from dialer.service.users import Role, add_user, issue_token
    from lists.store import open_store

    factory = open_store(url)
    try:
        with factory() as session:
            add_user(session, "admin", Role.ADMIN, now_utc(), None, ())
            token = issue_token(session, "admin", now_utc(), "test")
            session.commit()
    finally:
        factory.kw["bind"].dispose()
    return token


def _reasons(daemon: Running, token: str) -> dict[str, list[tuple[str, str]]]:
    """Each campaign's reasons as ``daemon``'s API gives them: (kind, detail)."""
    import httpx

    campaigns = httpx.get(f"http://127.0.0.1:{daemon.port}/api/v1/outbound/campaigns",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    return {c["name"]: [(r["reason"], r["detail"]) for r in c["reasons"]] for c in campaigns}


def _store_says(url: str, name: str) -> list[str]:
    """What ``dialer campaign show`` prints of the campaign's reasons (``lists.idle.store_reasons``)."""
    from lists.campaigns import get_campaign
    from lists.idle import store_reasons
    from lists.store import open_store

    factory = open_store(url)
    try:
        with factory() as session:
            return [r.text for r in store_reasons(session, get_campaign(session, name), now_utc())]
    finally:
        factory.kw["bind"].dispose()


def _drain(url: str, name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "drain", name, "--wait", "40", "--database-url", url],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.pg
@pytest.mark.daemon
@pytest.mark.slow
def test_two_daemons_share_the_campaigns_never_claim_or_write_twice_and_drain(tmp_path, store):
    token = _admin_token(store)
    a, b = _pair(tmp_path, store, drain_timeout_s=20.0)
    try:
        assert wait_for(lambda: set(_owners(store).values()) == {"dialer-a", "dialer-b"}, 15), _owners(store)
        theirs = next(name for name, owner in _owners(store).items() if owner == "dialer-b")
        assert wait_for(lambda: _reasons(a, token)[theirs] == [("lease_elsewhere", "dialer-b")], 10), \
            _reasons(a, token)
        assert not [kind for kind, _ in _reasons(b, token)[theirs] if kind in ("lease_elsewhere", "not_here")]
        assert "lease held by another daemon: dialer-b" in _store_says(store, theirs)
        assert wait_for(lambda: a.metric("dialer_calls_total") >= 15 and b.metric("dialer_calls_total") >= 15, 40)
        drained = _drain(store, "dialer-a")
        assert drained.returncode == 0, drained.stdout + drained.stderr
        assert wait_for(lambda: set(_owners(store).values()) == {"dialer-b"}, 10), _owners(store)
        assert not [e for e in b.events() if e.get("event") == "campaign_taken" and e["interrupted"]], \
            "the drain dropped calls in progress"
    finally:
        codes = (a.stop(), b.stop())
    assert codes == (0, 0)
    _check_no_doubles(store)
    assert all(owner is None for owner in _owners(store).values()), "a clean stop frees every lease"


def _taken(daemon: Running, names: list[str]) -> list[dict]:
    return [e for e in daemon.events() if e.get("event") == "campaign_taken" and e["campaign"] in names]


@pytest.mark.pg
@pytest.mark.daemon
@pytest.mark.slow  # the failover latency bound (lease + 5 s), read from the survivor's own log
def test_kill_9_the_other_takes_over_within_lease_plus_5_s(tmp_path, store):
    a, b = _pair(tmp_path, store)
    try:
        assert wait_for(lambda: set(_owners(store).values()) == {"dialer-a", "dialer-b"}, 15)
        assert wait_for(lambda: a.metric("dialer_calls_total") >= 20, 30)
        theirs = [name for name, owner in _owners(store).items() if owner == "dialer-a"]
        killed_at = now_utc()
        a.kill()
        assert wait_for(lambda: len(_taken(b, theirs)) == len(theirs), 60), _owners(store)
        assert all(_owners(store)[name] == "dialer-b" for name in theirs)
        took_s = max((datetime.fromisoformat(e["ts"]) - killed_at).total_seconds() for e in _taken(b, theirs))
        assert all(e["pacing"] for e in _taken(b, theirs)), "the takeover continues from the saved pacing memory"
        before = b.metric("dialer_calls_total")
        assert wait_for(lambda: b.metric("dialer_calls_total") >= before + 20, 30), "dialing goes on"
    finally:
        a.close()
        code = b.stop()
    assert code == 0 and took_s <= LEASE_S + 5
    _check_no_doubles(store)


def _tokens_written(url: str, token: int) -> set[int]:
    """The attempts that hold what was written under ``token`` (a result handed over and applied since holds the
    applier's)."""
    return {a["id"] for a in read_pg_ledger(url).attempts if a["lease_token"] == token}


def _ended_and_refused(daemon: Running, token: int) -> bool:
    """Every call ``daemon`` dialled under ``token`` has ended (its attempt logged: lead ids are unique across
    campaigns, tokens are not), and the fence refused a write after the last of them ended."""
    events = daemon.events()
    dialled = Counter(e["lead"] for e in events if e.get("event") == "dial" and e.get("token") == token)
    ended = [e for e in events if e.get("event") == "attempt" and e["lead"] in dialled]
    if dialled - Counter(e["lead"] for e in ended):
        return False
    last = max(datetime.fromisoformat(e["ts"]) for e in ended)
    return any(e.get("event") == "fenced" and datetime.fromisoformat(e["ts"]) >= last for e in events)


def _handed_over(url: str) -> list[dict]:
    """The results paused owners handed over, with plain SQL."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as connection:
        return list(connection.execute("SELECT h.*, l.phone_e164, l.status AS lead_status FROM attempt_handover h "
                                       "JOIN lead l ON l.id = h.lead_id ORDER BY h.id"))


def _on_dnc(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as connection:
        return {phone for (phone,) in connection.execute("SELECT phone_e164 FROM dnc_entry")}


def _results_after(daemon: Running, campaign: str, token: int, woke_at: datetime) -> dict[int, dict]:
    """Lead: the attempt ``daemon`` logged after ``woke_at`` for a call it dialled in ``campaign`` under ``token``."""
    events = daemon.events()
    dialled = {e["lead"] for e in events if e.get("event") == "dial" and e.get("token") == token}
    return {e["lead"]: e for e in events if e.get("event") == "attempt" and e["campaign"] == campaign
            and e["lead"] in dialled and datetime.fromisoformat(e["ts"]) >= woke_at}


@pytest.mark.pg
@pytest.mark.daemon
@pytest.mark.slow
def test_sigstop_owner_past_its_lease_dials_nothing_and_the_new_owner_applies_its_results(tmp_path, store):
    a, b = _pair(tmp_path, store, log_level="debug", asking_dnc=0.6)
    try:
        assert wait_for(lambda: set(_owners(store).values()) == {"dialer-a", "dialer-b"}, 15)
        assert wait_for(lambda: a.metric("dialer_calls_total") >= 20, 30)
        name = next(n for n, owner in _owners(store).items() if owner == "dialer-a")
        talking = f'dialer_calls_in_flight{{campaign="{name}",state="talking"}}'
        assert wait_for(lambda: a.metric(talking) >= 4, 20), "no calls in progress to pause"
        old = lease_rows(store)[name][1]
        stopped_at = now_utc()
        os.kill(a.process.pid, signal.SIGSTOP)
        assert wait_for(lambda: _owners(store)[name] == "dialer-b", 60, 0.05)
        written = _tokens_written(store, old)
        woke_at = now_utc()
        os.kill(a.process.pid, signal.SIGCONT)
        assert wait_for(lambda: any(e.get("event") == "campaign_lost" for e in a.events()), 10)
        assert wait_for(lambda: _ended_and_refused(a, old), 30), "the woken daemon's calls never tried to write"
        dials = [e for e in a.events() if e.get("event") == "dial" and e.get("token") == old]
        assert dials and all(datetime.fromisoformat(e["ts"]) < stopped_at for e in dials), "dialled after waking"
        assert _tokens_written(store, old) <= written, "a write under the old token got through"
        results = _results_after(a, name, old, woke_at)
        assert wait_for(lambda: {h["lead_id"] for h in _handed_over(store) if h["applied_at"]} >= set(results), 15), \
            "results the woken daemon finished were not applied by the new owner"
        new = lease_rows(store)[name][1]
    finally:
        os.kill(a.process.pid, signal.SIGCONT)
        a.stop()  # not killed: awake, it may have been given a campaign back by now
        code = b.stop()
    assert code == 0
    _check_no_doubles(store)  # each dial once, each lead's attempts its rows: the results replaced, not added
    handed = {h["lead_id"]: h for h in _handed_over(store)}
    assert {handed[lead]["applied_token"] for lead in results} == {new}, "applied by another than the new owner"
    attempts = {a["lead_id"]: a for a in read_pg_ledger(store).attempts if a["lead_id"] in results}
    assert all(attempts[lead]["outcome"] == e["result"] and attempts[lead]["disposition"] == e["disposition"]
               for lead, e in results.items()), "an interrupted placeholder left for a finished call"
    asked = [handed[lead] for lead, e in results.items() if e["disposition"] == "dnc_request"]
    assert asked, "no person asked for DNC on a call in progress at the pause: the test proves nothing"
    assert all(h["phone_e164"] in _on_dnc(store) and h["lead_status"] == "dnc" for h in asked)


@pytest.mark.pg
@pytest.mark.daemon
@pytest.mark.slow
def test_postgresql_restart_mid_campaign_loses_nothing_and_dialing_resumes(tmp_path):
    with private_server() as server:
        make_pg_store(server.url, leads=600, campaigns=("Loans",))
        scenario = make_scenario(tmp_path, agents=8)
        d = start_daemon(cluster_config(tmp_path, server.url, scenario, "dialer-a", LEASE_S, drain_timeout_s=5.0),
                         tmp_path / "a.log")
        try:
            assert wait_for(lambda: d.metric("dialer_calls_total") >= 15, 40)
            server.stop("fast")
            assert wait_for(lambda: d.get("/readyz")[0] == 503, 10), "ready while the store is away"
            time.sleep(LEASE_S)  # longer than the lease: it lapses, and nobody takes it
            server.start()
            assert wait_for(lambda: d.get("/readyz")[0] == 200, 30), d.get("/readyz")
            after = d.metric("dialer_calls_total")
            assert wait_for(lambda: d.metric("dialer_calls_total") >= after + 15, 40), "dialing did not resume"
        finally:
            code = d.stop()
        assert code == 0
        attempts = [e for e in d.events() if e.get("event") == "attempt"]
        ledger = read_pg_ledger(server.url)
        check_bookkeeping(ledger)
        assert len(ledger.attempts) >= len(attempts), "an attempt the daemon finished is missing from the ledger"


def test_a_cluster_on_sqlite_is_refused_with_its_line(tmp_path):
    from dialer.service.config import ConfigError, load_config

    scenario = make_scenario(tmp_path)
    path = cluster_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", scenario, "dialer-a")
    with pytest.raises(ConfigError, match=r"dialer-a\.toml:\d+: \[cluster\]: needs a PostgreSQL store"):
        load_config(path)
    path.write_text(path.read_text().replace("sqlite:///", "postgresql://u@h/").replace("renew_s = 0.5",
                                                                                       "renew_s = 3"))
    with pytest.raises(ConfigError, match=r"\[cluster\] renew_s: renew_s \+ skew_s must be less than lease_s"):
        load_config(path)


def test_balance_by_agents_takes_when_lightest_and_gives_only_when_the_spread_shrinks():
    from dialer.service.cluster import LeaseRow, Member, pick

    alive = [Member("a", 0, False), Member("b", 0, False), Member("c", 0, True)]
    rows = [LeaseRow(1, "a", 1, True, 300), LeaseRow(2, "b", 1, True, 100), LeaseRow(3, None, 0, False, 50),
            LeaseRow(4, "c", 2, True, 700)]
    assert pick("b", alive, rows, [2]) == (3, None)  # b carries fewer agents; c is draining and counts for nothing
    assert pick("a", alive, rows, [1]) == (None, None)
    rows = [LeaseRow(1, "a", 1, True, 300), LeaseRow(2, "a", 1, True, 100), LeaseRow(3, "b", 1, True, 50)]
    assert pick("a", alive, rows, [1, 2]) == (None, 2)  # 400 against 50: moving 100 leaves 300 against 150
    rows = [LeaseRow(1, "a", 1, True, 300), LeaseRow(3, "b", 1, True, 50)]
    assert pick("a", alive, rows, [1]) == (None, None)  # moving its only campaign would only swap the load
