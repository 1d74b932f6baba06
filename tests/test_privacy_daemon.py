"""An erasure on a sealed store dialled by a real daemon (process, socket, store): the compliance counts the next
daemon restores are the ones before it, and neither the store file nor the log holds a number or a name."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from lists.campaigns import get_campaign
from lists.models import Attempt, Lead, ledger_days
from lists.sealing import KEY_ENV
from lists.store import open_store
from tests.conftest import TEST_STORE_KEY
from tests.daemon_helpers import CAMPAIGN, make_config, make_scenario, make_store, start_daemon, wait_for

ZONE, DAY = "Europe/Paris", date(2026, 11, 24)  # the daemon's world: tests.daemon_helpers.START

pytestmark = [pytest.mark.daemon, pytest.mark.slow]  # two `dialer serve` subprocesses


def _restored(running) -> dict:
    event = next(e for e in running.events() if e.get("event") == "counts_restored")
    return {key: event[key] for key in ("days_with_answers", "live_today", "abandoned_today")}


def _dialled(url: str, n: int) -> tuple[list[str], dict]:
    """The numbers of ``n`` people the daemon reached (read through the store's seal), and the campaign's answer
    counts of the day, as a restarting daemon restores them (``ledger_days``)."""
    factory = open_store(url)
    with factory() as s:
        reached = select(Attempt.lead_id).where(Attempt.answered_at.is_not(None)).group_by(Attempt.lead_id)
        numbers = list(s.scalars(select(Lead.phone_e164).where(Lead.id.in_(reached)).order_by(Lead.id).limit(n)))
        campaign = get_campaign(s, CAMPAIGN)
        days = ledger_days(s, campaign.id, ZONE, DAY, DAY.toordinal() - 30)
    factory.kw["bind"].dispose()
    today = days[30]
    return numbers, {"live_today": int(today.live - today.agent_machines), "abandoned_today": int(today.abandoned)}


def test_an_erasure_leaves_the_counts_a_restarted_daemon_restores(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, TEST_STORE_KEY)  # the store is made sealed, and every daemon inherits the key
    url = make_store(tmp_path, leads=300)
    scenario = make_scenario(tmp_path, agents=6)
    first = start_daemon(make_config(tmp_path, url, scenario, speed=20), tmp_path / "first.log")
    try:
        assert wait_for(lambda: first.metric("dialer_calls_total") >= 40, 30)
    finally:
        assert first.stop() == 0
    numbers, counts = _dialled(url, 3)
    assert len(numbers) == 3 and counts["live_today"] >= 3
    for number in numbers:
        result = CliRunner().invoke(main, ["privacy", "erase", "--number", number, "--database-url", url])
        assert result.exit_code == 0 and "kept 0 DNC entries" in result.output, result.output
    assert _dialled(url, 3)[1] == counts
    after = start_daemon(make_config(tmp_path, url, scenario, speed=1, name="after.toml"), tmp_path / "after.log")
    restored = _restored(after)
    assert after.stop() == 0
    assert {key: restored[key] for key in counts} == counts
    stored = (tmp_path / "dialer.db").read_bytes()
    logs = " ".join((tmp_path / log).read_text() for log in ("first.log", "after.log"))
    assert not any(number.encode() in stored or number in logs or number[3:] in logs for number in numbers)
    assert b"Person 1" not in stored and "Person 1" not in logs
