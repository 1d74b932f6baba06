"""Simulated people decide in the campaign's own words: a campaign dialled on another kind's scenario records
its own catalogue's outcomes and refusal reasons, and the refusals report prints labels, never raw codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli import main
from dialer.core.calls import Outcome
from dialer.drivers.sim.scenario import Outcomes, for_campaign, load_scenario
from lists.campaigns import NOT_IN_CATALOGUE, default_catalogue, label_of

LOAN_OFFER = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "loan-offer.toml"
REMINDER = default_catalogue("payment-reminder")


def _mix(outcomes: Outcomes) -> dict[str, float]:
    return {code: pytest.approx(share) for code, share in outcomes.refusal_reasons}


def test_a_scenario_in_its_own_campaigns_words_is_unchanged():
    scenario = load_scenario(LOAN_OFFER)
    assert for_campaign(scenario, default_catalogue("loan-offer"), "loan-offer") is scenario


def test_codes_the_catalogue_lacks_give_their_share_equally_to_the_reasons_the_scenario_does_not_name():
    outcomes = Outcomes("accepted", 0.1, (("too_expensive", 0.6), ("bad_timing", 0.3), ("no_need", 0.1)))
    mapped = outcomes.within(REMINDER["outcomes"], REMINDER["refusal_reasons"], "promise_to_pay")
    assert mapped.success_code == "promise_to_pay"
    assert _mix(mapped) == {"bad_timing": 0.3, "disputes_debt": 0.175, "cannot_pay": 0.175,
                            "has_arrangement": 0.175, "not_account_holder": 0.175}
    named_all = outcomes.within({"accepted": "Yes"}, {"bad_timing": "Bad timing", "no_need": "No need"}, "x")
    assert named_all.success_code == "accepted"
    assert _mix(named_all) == {"bad_timing": 0.75, "no_need": 0.25}  # in proportion: the scenario named both
    assert outcomes.within({}, {}, "paid").refusal_reasons == ()  # no reasons at all: refusals carry none


def test_a_payment_reminder_simulated_on_the_loan_offer_scenario_records_only_its_own_codes(tmp_path: Path):
    from lists.models import Attempt, Campaign
    from lists.reports import refusals_report
    from lists.store import open_store

    url = f"sqlite:///{tmp_path / 'reminders.db'}"
    stored = CliRunner().invoke(main, [
        "simulate", str(LOAN_OFFER), "--replications", "1", "--store", url, "--store-name", "Reminders",
        "--kind", "payment-reminder", "--set", "list.size=1500", "--set", "day.end=13:00", "--workers", "1"])
    assert stored.exit_code == 0, stored.output
    factory = open_store(url)
    with factory() as s:
        campaign = s.scalars(select(Campaign).where(Campaign.name == "Reminders")).one()
        reasons = dict(s.execute(select(Attempt.refusal_reason, func.count()).where(
            Attempt.refusal_reason.is_not(None)).group_by(Attempt.refusal_reason)).all())
        codes = set(s.scalars(select(Attempt.disposition).where(Attempt.disposition.is_not(None))))
        report = refusals_report(s, campaign)
    factory.kw["bind"].dispose()
    assert sum(reasons.values()) > 30
    assert set(reasons) <= set(REMINDER["refusal_reasons"]) and len(reasons) >= 4
    assert codes <= set(REMINDER["outcomes"]) and "promise_to_pay" in codes
    assert {label for _, label, _, _ in report.rows} <= set(REMINDER["refusal_reasons"].values())
    assert campaign.catalogue == REMINDER  # no loan-offer code slipped into the catalogue


def test_the_daemons_sim_driver_meets_people_in_the_campaigns_words():
    from dialer.drivers.sim.store import StoreCustomers

    class Clock:
        def now(self) -> float:
            return 17 * 3600.0  # the evening, when people answer most

    class Call:
        def __init__(self, lead: int) -> None:
            self.lead, self.attempt = lead, 0

    scenario = for_campaign(load_scenario(LOAN_OFFER), REMINDER, "payment-reminder")
    customers = StoreCustomers(scenario, Clock(), max_attempts=3)  # type: ignore[arg-type]
    decided = [plan.disposition for plan in map(customers.plan, map(Call, range(3000)))  # type: ignore[arg-type]
               if plan.result is Outcome.HUMAN]
    assert len(decided) > 100
    assert {d.code for d in decided} <= {"promise_to_pay", "refused"}
    assert {d.refusal_reason for d in decided if d.code == "refused"} <= set(REMINDER["refusal_reasons"])


def test_a_code_outside_the_catalogue_reads_as_words_and_says_so():
    labels = REMINDER["refusal_reasons"]
    assert label_of("cannot_pay", labels, NOT_IN_CATALOGUE) == "Cannot pay now (hardship)"
    assert label_of("not_decision_maker", labels, NOT_IN_CATALOGUE) == "Not decision maker (not in catalogue)"
