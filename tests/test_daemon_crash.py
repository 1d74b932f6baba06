"""kill -9 mid-campaign, then restart: every lead accounted for, interrupted attempts marked, ledger intact.

The first daemon is killed with calls in flight. The store then holds leads
claimed by it, some with a write-ahead dial mark. The second daemon (the
simulated world resumed two minutes after the last dial) must give those
with a mark an "interrupted" attempt dated at the mark and a retry time,
put the others back untouched, and go on dialling without ever overlapping
two attempts of one lead, and go on from the answers and abandons the first
one counted today (the abandonment budget is not spent twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.daemon_helpers import (
    check_ledger,
    make_config,
    make_scenario,
    make_store,
    read_ledger,
    start_daemon,
    wait_for,
)

pytestmark = [pytest.mark.daemon, pytest.mark.slow]  # two `dialer serve` subprocesses, one killed


def _in_flight_marks(url: str) -> dict[int, str]:
    return {lead["id"]: lead["dial_started_at"] for lead in read_ledger(url).leads if lead["dial_started_at"]}


def _answers_today(ledger) -> tuple[int, int, int]:
    """(people who answered, abandoned, answers the abandonment ledger counts live) in the attempts: the
    pacing ledger also counts a machine an agent found, passed on as live; interrupted attempts and AMD's
    machines count in neither."""
    people = sum(a["outcome"] in ("human", "abandoned") for a in ledger.attempts)
    found = sum(a["outcome"] == "machine" and a["connected_at"] is not None for a in ledger.attempts)
    return people, sum(a["outcome"] == "abandoned" for a in ledger.attempts), people + found


def test_kill_9_then_restart_marks_interrupted_attempts_and_loses_no_lead(tmp_path):
    url = make_store(tmp_path, leads=600)
    scenario = make_scenario(tmp_path, agents=10)
    first = start_daemon(make_config(tmp_path, url, scenario, speed=20), tmp_path / "first.log")
    try:
        assert wait_for(lambda: first.metric("dialer_calls_total") >= 40 and len(_in_flight_marks(url)) >= 3, 30)
    finally:
        first.kill()
    before = read_ledger(url)
    marks = _in_flight_marks(url)
    claimed = {lead["id"] for lead in before.leads if lead["status"] == "claimed"}
    assert marks and set(marks) <= claimed
    last = max(a["dialled_at"] for a in before.attempts)
    resume = (datetime.fromisoformat(last) + timedelta(minutes=2)).isoformat() + "Z"

    second = start_daemon(make_config(tmp_path, url, scenario, speed=20, start=resume, name="restart.toml"),
                          tmp_path / "second.log")
    try:
        recovered = [e for e in second.events() if e.get("event") == "recovery"]
        assert recovered and recovered[0]["interrupted"] == len(marks)
        assert recovered[0]["released"] == len(claimed - set(marks))
        restored = [e for e in second.events() if e.get("event") == "counts_restored"]
        assert restored and before.live > 0, "the killed daemon's answers were not found"
        counts = restored[0]["live_today"], restored[0]["abandoned_today"], restored[0]["ledger_live_today"]
        assert counts == _answers_today(before)
        assert wait_for(lambda: second.metric("dialer_calls_total") >= 30, 30)
    finally:
        code = second.stop()
    assert code == 0

    after = read_ledger(url)
    assert len(after.leads) == 600
    check_ledger(after)
    interrupted = {a["lead_id"]: a for a in after.attempts if a["outcome"] == "interrupted"}
    assert set(interrupted) == set(marks)
    for lead_id, attempt in interrupted.items():
        assert attempt["dialled_at"] == marks[lead_id]
        lead = next(lead for lead in after.leads if lead["id"] == lead_id)
        later = [a for a in after.attempts if a["lead_id"] == lead_id and a["dialled_at"] > attempt["dialled_at"]]
        assert lead["status"] in ("retry", "done")
        assert lead["next_at"] > attempt["dialled_at"] or later
    old = {(a["lead_id"], a["dialled_at"]) for a in before.attempts}
    assert old <= {(a["lead_id"], a["dialled_at"]) for a in after.attempts}, "the ledger lost rows"
