"""Every manager report tells the truth: checked against stores whose contents are known.

The stores are written through the one attempt-writing path
(``lists.selection.record_attempt`` / ``record_attempts``), by hand here and
by the simulator (``simulation.calibrate.store_run``).
"""

import csv
from datetime import UTC, datetime, timedelta

import pytest

from dialer.records import AttemptRecord
from lists.campaigns import create_campaign, default_catalogue, retarget
from lists.dnc import import_registry
from lists.models import Attempt, Lead
from lists.reports import dispositions_report, export_leads, penetration_report, refusals_report
from lists.selection import record_attempt
from simulation.plots import plot_report

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["survey", "payment-reminder"])
def test_each_kind_has_its_own_refusal_reasons(kind):
    """A survey sells nothing: 'too expensive' and 'has a provider' are a loan's reasons, not its own."""
    reasons = default_catalogue(kind)["refusal_reasons"]
    assert not {"too_expensive", "has_provider"} & set(reasons)
    assert reasons != default_catalogue("loan-offer")["refusal_reasons"]


def test_survey_catalogue_holds_the_shipped_survey_scenarios_reasons():
    assert {"declined", "bad_timing"} <= set(default_catalogue("survey")["refusal_reasons"])


# ---- a store written by hand, through record_attempt ------------------------------------------------------------

PHONES = {k: f"+1202555{n:04d}" for k, n in zip("ABCDEF", range(101, 107), strict=True)}


def _lead(s, campaign, key: str) -> Lead:
    lead = Lead(campaign_id=campaign.id, phone_e164=PHONES[key], zones="America/New_York", name=f"Person {key}")
    s.add(lead)
    s.flush()
    return lead


def _dial(s, campaign, lead, minutes: int, outcome: str, **kw) -> None:
    at = NOW + timedelta(minutes=minutes)
    human = outcome == "human"
    record_attempt(s, campaign, lead, AttemptRecord(
        outcome=outcome, dialled_at=at, answered_at=at + timedelta(seconds=8) if outcome in ("human", "machine")
        else None, connected_at=at + timedelta(seconds=9) if human else None,
        hangup_at=at + timedelta(seconds=90), agent="a1" if human else None, **kw))


@pytest.fixture
def known(store, tmp_path):
    """Six leads whose every state is known: A refused (too expensive) after a no-answer, B busy, C accepted,
    D never dialled and on the national registry, E never dialled, F got a machine and then joined the registry."""
    with store() as s:
        loans = create_campaign(s, "Loans", "loan-offer", countries=["US"])
        leads = {key: _lead(s, loans, key) for key in PHONES}
        s.commit()
        _dial(s, loans, leads["A"], 0, "no_answer")
        _dial(s, loans, leads["B"], 1, "busy")
        _dial(s, loans, leads["C"], 2, "human", disposition="accepted")
        _dial(s, loans, leads["F"], 3, "machine")
        _dial(s, loans, leads["A"], 200, "human", disposition="refused", refusal_reason="too_expensive")
        registry = tmp_path / "national.csv"
        registry.write_text(f"{PHONES['D']}\n{PHONES['F']}\n", encoding="utf-8")
        import_registry(s, "default", "national", registry, NOW + timedelta(hours=5))
    return store


def _rows(report) -> dict[str, int]:
    return {code: count for code, _, count, _ in report.rows}


def test_penetration_of_a_known_store(known):
    with known() as s:
        report = penetration_report(s, s.scalar(select_campaign("Loans")))
    assert report.total == 6
    assert _rows(report) == {"attempted": 4, "reached": 2, "untouched": 2, "dnc_listed": 2,
                             "status:done": 2, "status:retry": 1, "status:dnc": 2, "status:new": 1}
    assert [title for title, _, _ in report.panels()] == ["List progress", "Leads by status now"]


def test_export_shows_registry_matches_and_refusal_reasons(known, tmp_path):
    out = tmp_path / "leads.csv"
    with known() as s:
        assert export_leads(s, s.scalar(select_campaign("Loans")), out) == 6
    rows = {row["phone_e164"]: row for row in csv.DictReader(out.read_text(encoding="utf-8").splitlines())}
    by_key = {key: rows[phone] for key, phone in PHONES.items()}
    assert {k: r["status"] for k, r in by_key.items()} == {"A": "done", "B": "retry", "C": "done", "D": "dnc",
                                                          "E": "new", "F": "dnc"}
    assert by_key["D"]["dnc"] == by_key["F"]["dnc"] == "national" and by_key["E"]["dnc"] == ""
    assert by_key["A"]["refusal_reason"] == "too_expensive" and by_key["A"]["attempts"] == "2"


def test_the_dial_time_check_still_closes_registry_matches(known):
    from lists.selection import claim_leads

    with known() as s:
        loans = s.scalar(select_campaign("Loans"))
        claimed = claim_leads(s, loans, 10, NOW + timedelta(days=1, hours=2))
        assert PHONES["D"] not in {lead.phone_e164 for lead in claimed}
        assert s.scalar(select_lead(PHONES["D"])).status == "dnc"


def test_refusals_and_dispositions_of_a_known_store_use_catalogue_labels(known):
    with known() as s:
        loans = s.scalar(select_campaign("Loans"))
        refusals, dispositions = refusals_report(s, loans), dispositions_report(s, loans)
    assert _rows(refusals) == {"too_expensive": 1}
    assert _rows(dispositions) == {"no_answer": 1, "busy": 1, "accepted": 1, "machine": 1, "refused": 1}
    assert all(label != code for code, label, _, _ in dispositions.rows)  # every code has a human label


def test_retargeted_leads_keep_their_refusal_reason_in_the_export(known, tmp_path):
    out = tmp_path / "again.csv"
    with known() as s:
        again, count = retarget(s, "Loans", ["too_expensive"], "Loans again", NOW + timedelta(days=1))
        assert count == 1
        export_leads(s, again, out)
    (row,) = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
    assert row["phone_e164"] == PHONES["A"] and row["refusal_reason"] == "too_expensive"


def test_an_empty_campaign_plots_no_data(store, tmp_path):
    import matplotlib.pyplot as plt

    from simulation import plots

    with store() as s:
        report = refusals_report(s, create_campaign(s, "Empty", "survey", countries=["US"]))
    assert report.panels() == [("", [], [])]
    fig = plots._panels_figure(report.title, report.panels())
    assert [t.get_text() for t in fig.axes[0].texts] == [plots.NO_DATA]
    plt.close(fig)
    assert plot_report(report, tmp_path / "empty.png").stat().st_size > 0


def select_campaign(name: str):
    from sqlalchemy import select

    from lists.models import Campaign

    return select(Campaign).where(Campaign.name == name)


def select_lead(phone: str):
    from sqlalchemy import select

    return select(Lead).where(Lead.phone_e164 == phone)


# ---- a store written by the simulator ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated():
    from benchmarks.scenarios import day_of
    from dialer.drivers.sim.scenario import parse_scenario
    from simulation.model import simulate

    data = day_of(6, hours=2.0)
    data["list"]["size"] = 3000
    scenario = parse_scenario(data)
    return scenario, simulate(scenario, record=True)


def test_a_simulated_day_in_the_store_reads_like_the_run(store, simulated):
    from simulation.calibrate import store_run

    scenario, result = simulated
    with store() as s:
        campaign = store_run(s, scenario, result, "Simulated")
        penetration = _rows(penetration_report(s, campaign))
        refusals = _rows(refusals_report(s, campaign))
        dispositions = _rows(dispositions_report(s, campaign))
        stored = s.query(Attempt).filter(Attempt.campaign_id == campaign.id).count()
        _, count = retarget(s, "Simulated", ["too_expensive"], "Simulated again", NOW)
    size = scenario.list_size
    assert stored == result.dials
    assert penetration["attempted"] == round(result.penetration * size) > 0
    assert penetration["untouched"] == size - penetration["attempted"]
    assert penetration["status:done"] == round(result.finished * size)
    assert refusals == dict(result.refusals)
    assert dispositions["accepted"] == result.successes
    assert penetration["reached"] == result.connected  # a person on the line ends the lead: one each
    assert count == result.refusals["too_expensive"] > 0  # one refusal ends a lead, so one lead per refusal
