"""The agents report and the reports' periods, against a store this test writes row by row.

Every expected figure below is worked out by hand from the rows, in Paris
time (the campaign's rules profile is French; late November is UTC+1), so a
change in what counts (an attempt's day, a pause cut at midnight, an agent
never logged out) fails here.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

import cli
from dialer.records import Outcome
from lists.campaigns import create_campaign
from lists.lifecycle import Presence
from lists.models import Attempt, Lead
from lists.presence import PresenceChange, agent_times, append_presence
from lists.reports import (
    EVERYTHING,
    agents_report,
    dispositions_report,
    penetration_report,
    period_of,
    refusals_report,
)
from pacing.errors import InvalidInput

PARIS = timedelta(hours=1)  # UTC+1 in November
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def paris(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment of November 2026 on the Paris clock, as aware UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC) - PARIS


def _call(lead: Lead, agent: str, dialled: datetime, talk_s: float, wrap_s: float | None, outcome: Outcome,
          disposition: str, reason: str | None = None) -> Attempt:
    connected = dialled + timedelta(seconds=10)
    return Attempt(lead_id=lead.id, campaign_id=lead.campaign_id, dialled_at=dialled.replace(tzinfo=None),
                   answered_at=connected.replace(tzinfo=None), connected_at=connected.replace(tzinfo=None),
                   hangup_at=(connected + timedelta(seconds=talk_s)).replace(tzinfo=None), outcome=outcome,
                   disposition=disposition, refusal_reason=reason, agent=agent,
                   data={} if wrap_s is None else {"wrap_s": wrap_s})


def _presence(campaign_id: int, agent: str, *changes: tuple[datetime, Presence, str | None]) -> list[PresenceChange]:
    return [PresenceChange(campaign_id, agent, at, event, reason) for at, event, reason in changes]


def _write_floor(session) -> int:
    """Three agents' 24 November (and, outside it, rows that must not count); returns the campaign's id."""
    campaign = create_campaign(session, "Loans", "loan-offer", rules_profile="fr")
    lead = Lead(campaign_id=campaign.id, phone_e164="+33612345678", zones="Europe/Paris", fields={})
    session.add(lead)
    session.flush()
    session.add_all([
        _call(lead, "alice", paris(23, 9, 30), 120, 20, Outcome.HUMAN, "accepted"),  # the day before
        _call(lead, "alice", paris(24, 10), 300, 60, Outcome.HUMAN, "accepted"),
        _call(lead, "alice", paris(24, 11), 90, 30, Outcome.HUMAN, "refused", "too_expensive"),
        _call(lead, "alice", paris(24, 14), 10, 5, Outcome.MACHINE, "machine"),  # AMD missed it: no contact
        _call(lead, "alice", paris(25, 0, 30), 200, 10, Outcome.HUMAN, "accepted"),  # 23:30 UTC, the 25th in Paris
        _call(lead, "bob", paris(24, 13, 30), 600, None, Outcome.HUMAN, "refused", "no_need"),
    ])
    c = campaign.id
    append_presence(session, [
        *_presence(c, "alice", (paris(23, 9), Presence.LOG_IN, None), (paris(23, 10), Presence.LOG_OUT, None),
                   (paris(24, 9), Presence.LOG_IN, None), (paris(24, 12), Presence.PAUSE, "lunch"),
                   (paris(24, 12, 30), Presence.READY, None), (paris(24, 15), Presence.PAUSE, "break"),
                   (paris(24, 15, 15), Presence.READY, None), (paris(24, 17), Presence.LOG_OUT, None),
                   (paris(25, 9), Presence.LOG_IN, None)),
        *_presence(c, "bob", (paris(24, 13), Presence.LOG_IN, None)),  # never logged out
        *_presence(c, "carol", (paris(23, 20), Presence.LOG_IN, None), (paris(23, 23), Presence.PAUSE, "training"),
                   (paris(24, 1), Presence.READY, None), (paris(24, 2), Presence.LOG_OUT, None)),
    ])
    session.commit()
    return c


EXPECTED = {  # 24 November in Paris, by hand
    "alice": {"calls": 3, "contacts": 2, "sales": 1, "refusals": 1, "talk_s": 400.0, "wrap_s": 95.0,
              "logged_in_s": 8 * 3600.0, "paused_s": {"lunch": 1800.0, "break": 900.0},
              "occupancy": 495 / (8 * 3600 - 2700), "calls_per_hour": 3 / 8, "conversion": 0.5,
              "waiting_s": 8 * 3600 - 2700 - 495.0},
    "bob": {"calls": 1, "contacts": 1, "sales": 0, "refusals": 1, "talk_s": 600.0, "wrap_s": 0.0,
            "logged_in_s": 11 * 3600.0, "paused_s": {}, "occupancy": 600 / (11 * 3600),
            "calls_per_hour": 1 / 11, "conversion": 0.0, "waiting_s": 11 * 3600 - 600.0},
    "carol": {"calls": 0, "contacts": 0, "sales": 0, "refusals": 0, "talk_s": 0.0, "wrap_s": 0.0,
              "logged_in_s": 7200.0, "paused_s": {"training": 3600.0}, "occupancy": 0.0, "calls_per_hour": 0.0,
              "conversion": None, "waiting_s": 3600.0},
}


def _same(figures: dict, expected: dict) -> bool:
    """Equal, floats to rounding: the shares are computed, the hand values written as fractions."""
    return figures.keys() == expected.keys() and all(
        figures[k] == pytest.approx(v) if isinstance(v, float) else figures[k] == v for k, v in expected.items())


def test_the_agents_report_of_a_day_is_the_hand_count_of_its_rows(store):
    with store() as s:
        campaign_id = _write_floor(s)
        from lists.models import Campaign
        report = agents_report(s, s.get(Campaign, campaign_id), period_of("2026-11-24", "2026-11-24", "Europe/Paris"),
                               NOW)
    assert [row.agent for row in report.rows] == ["alice", "bob", "carol"]
    for row in report.rows:
        assert _same({name: getattr(row, name) for name in EXPECTED["alice"]}, EXPECTED[row.agent]), row
    assert "from 2026-11-24 to 2026-11-24 (Europe/Paris)" in report.title
    text = report.text()
    assert "1.9%" in text and "50.0%" in text  # alice's occupancy and conversion, as percentages
    assert "8:00:00" in text and "Lunch 0:30:00" in text and "Training 1:00:00" in text


def test_an_agent_still_logged_in_counts_up_to_now_and_a_closed_session_whole(store):
    with store() as s:
        campaign_id = _write_floor(s)
        day = (paris(24, 0), paris(25, 0))
        at_two = agent_times(s, campaign_id, *day, now=paris(24, 14))
        later = agent_times(s, campaign_id, *day, now=NOW)
        behind = agent_times(s, campaign_id, *day, now=paris(1, 0))  # a clock behind the log (a simulated world)
    assert at_two["bob"].logged_in_s == 3600.0 and later["bob"].logged_in_s == 11 * 3600.0
    assert "bob" not in behind
    assert at_two["alice"].logged_in_s == later["alice"].logged_in_s == behind["alice"].logged_in_s == 8 * 3600.0


def test_cli_report_agents_from_to_matches_the_store(store_url, store, tmp_path, monkeypatch):
    with store() as s:
        _write_floor(s)
    monkeypatch.setattr(cli, "_now", lambda: NOW)
    out = tmp_path / "agents.json"
    result = CliRunner().invoke(cli.main, ["report", "agents", "--database-url", store_url, "--campaign", "Loans",
                                           "--from", "2026-11-24", "--to", "2026-11-24", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["agent"]: row for row in json.loads(out.read_text())["rows"]}
    for agent, expected in EXPECTED.items():
        assert _same({k: rows[agent][k] for k in expected}, expected), rows[agent]
    assert "alice" in result.output and "1.9%" in result.output


def test_every_report_takes_the_period(store):
    with store() as s:
        from lists.models import Campaign
        campaign = s.get(Campaign, _write_floor(s))
        day = period_of("2026-11-24", "2026-11-24", "Europe/Paris")
        refusals = {code: n for code, _, n, _ in refusals_report(s, campaign, day).rows}
        dispositions = {code: n for code, _, n, _ in dispositions_report(s, campaign, day).rows}
        all_time = {code: n for code, _, n, _ in dispositions_report(s, campaign, EVERYTHING).rows}
        penetration = {code: n for code, _, n, _ in penetration_report(s, campaign, day).rows}
    assert refusals == {"too_expensive": 1, "no_need": 1}
    assert dispositions == {"accepted": 1, "refused": 2, "machine": 1}
    assert all_time["accepted"] == 3
    assert penetration["attempted"] == 1 and penetration["reached"] == 1


def test_a_period_reads_dates_in_the_campaign_zone_and_to_takes_in_its_day():
    day = period_of("2026-11-24", "2026-11-24", "Europe/Paris")
    assert (day.start, day.end) == (paris(24, 0), paris(25, 0))
    moment = period_of("2026-11-24T09:30", "2026-11-24T10:00+00:00", "Europe/Paris")
    assert (moment.start, moment.end) == (paris(24, 9, 30), datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert period_of(None, None, "UTC") == EVERYTHING


@pytest.mark.parametrize(("start", "end", "option"), [
    ("24/11/2026", None, "from"), (None, "2026-13-01", "to"), ("2026-11-25", "2026-11-24", "to"),
    (None, "9999-12-31", "to"), ("0001-01-01T00:00+05:00", None, "from")])
def test_a_bad_date_names_its_option(start, end, option):
    with pytest.raises(InvalidInput) as caught:
        period_of(start, end, "Europe/Paris")
    assert caught.value.argument == option


def test_cli_bad_date_exits_2_naming_the_option(store_url, store):
    with store() as s:
        _write_floor(s)
    result = CliRunner().invoke(cli.main, ["report", "refusals", "--database-url", store_url, "--campaign", "Loans",
                                           "--from", "yesterday"])
    assert result.exit_code == 2
    assert "--from" in result.output and "'yesterday' is not a date" in result.output
