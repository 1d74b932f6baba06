"""Helpers for the cluster tests: a private database per module, a private PostgreSQL server, stores, configs.

Why private: other engineers and CI run tests in parallel against the shared
server, so each module creates its own database (named with a random
suffix, dropped at the end), and the restart test starts and restarts its
own server in a temporary folder; the shared one is never touched.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.daemon_helpers import START, Ledger, config_head, consented

CAMPAIGNS = ("Loans", "Tariffs")


def base_url() -> str:
    """The shared server's URL from ``DIALER_TEST_PG_URL``; a clear failure (not a skip) when unset."""
    url = os.environ.get("DIALER_TEST_PG_URL")
    if not url:
        pytest.fail("DIALER_TEST_PG_URL is not set: the cluster tests need PostgreSQL. Start it with "
                    "`.ci/postgres.sh` and export the URL it prints (CI's .ci/run does this).")
    return url


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new database on ``url``'s server, dropped (connections and all) on exit; yields its URL."""
    parsed = make_url(url)
    name = f"dialer_cluster_{secrets.token_hex(4)}"
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    _psql(admin, f"CREATE DATABASE {name}")
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        _psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("no PostgreSQL binaries under /usr/lib/postgresql (.ci/postgres.sh installs them)")
    return found[-1].parent


@dataclass
class PrivateServer:
    """A PostgreSQL server of our own (initdb in a temp folder, run as ``postgres``), for the restart test."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://dialer:dialer@127.0.0.1:{self.port}/dialer"

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(_pg_bin() / "pg_ctl"), "-D", str(self.folder / "data"),
                        "-w", "-l", str(self.folder / "server.log"), *args], check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")


@contextmanager
def private_server() -> Iterator[PrivateServer]:
    """initdb, start, a superuser ``dialer`` and database ``dialer``; stopped and removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="dialer-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(_pg_bin() / "initdb"), "-D", str(folder / "data"),
                    "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    server = PrivateServer(folder, _free_port())
    server.start()
    try:
        admin = f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        _psql(admin, "CREATE ROLE dialer LOGIN SUPERUSER PASSWORD 'dialer'")
        _psql(admin, "CREATE DATABASE dialer OWNER dialer")
        yield server
    finally:
        try:
            server.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(folder, ignore_errors=True)


def make_pg_store(url: str, leads: int = 600, campaigns: tuple[str, ...] = CAMPAIGNS,
                  dial_mode: str = "predictive") -> None:
    """French loan-offer campaigns on a PostgreSQL store, ``leads`` synthetic Paris numbers each."""
    from lists.campaigns import create_campaign
    from lists.models import DUE_ANY_TIME, insert_new_leads
    from lists.store import open_store

    factory = open_store(url)
    with factory() as session:
        for k, name in enumerate(campaigns):
            campaign = create_campaign(session, name, kind="loan-offer", rules_profile="fr", dial_mode=dial_mode,
                                       abandon_cap=0.03, max_attempts=4, caller_id="+33142685300")
            rows = [(f"+331{k}{j:07d}", None, "FR", "Europe/Paris", "{}") for j in range(leads)]
            insert_new_leads(session, campaign.id, DUE_ANY_TIME, rows)
            consented(session, [phone for phone, *_ in rows])
        session.commit()
    factory.kw["bind"].dispose()


def cluster_config(folder: Path, url: str, scenario: Path, name: str, lease_s: float = 3.0, renew_s: float = 0.5,
                   skew_s: float = 0.5, speed: float = 20.0, log_level: str = "info",
                   drain_timeout_s: float = 20.0) -> Path:
    """A daemon of the cluster, named ``name``, with short leases (seconds)."""
    path = folder / f"{name}.toml"
    path.write_text(config_head(url, name, drain_timeout_s) + f'''log_level = "{log_level}"
[driver]
kind = "sim"
[sim]
scenario = "{scenario}"
speed = {speed}
start = {START}
[cluster]
lease_s = {lease_s}
renew_s = {renew_s}
skew_s = {skew_s}
pacing_save_s = 2
''', encoding="utf-8")
    return path


def read_pg_ledger(url: str) -> Ledger:
    """Leads and attempts, with plain SQL and times as ISO text (as ``daemon_helpers.read_ledger`` gives them)."""
    import psycopg
    from psycopg.rows import dict_row

    def iso(row: dict) -> dict:
        return {k: (v.isoformat(sep=" ") if hasattr(v, "isoformat") else v) for k, v in row.items()}

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                         row_factory=dict_row) as connection:
        leads = [iso(r) for r in connection.execute("SELECT * FROM lead ORDER BY id")]
        attempts = [iso(r) for r in connection.execute("SELECT * FROM attempt ORDER BY lead_id, dialled_at, id")]
    return Ledger(leads, attempts)


def lease_rows(url: str) -> dict[str, tuple[str | None, int]]:
    """Campaign name: (owner, token) as the store holds them."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT c.name, l.owner, l.token FROM campaign_lease l "
                                  "JOIN campaign c ON c.id = l.campaign_id").fetchall()
    return {name: (owner, int(token)) for name, owner, token in rows}
