"""No phone number reaches a log record, whatever handler reads it: masked where the record is made."""

from __future__ import annotations

import logging

from dialer.core.calls import Call
from dialer.records import Outcome
from dialer.service.metrics import CampaignRecorder, Metrics
from pacing.ledger import AbandonmentLedger

NUMBER = "+33142685300"


def test_the_attempt_log_record_carries_the_number_masked(caplog) -> None:
    call = Call(id=1, lead=7, number=NUMBER, segment="all", attempt=0, outcome=Outcome.BUSY, dialled_s=10.0)
    with caplog.at_level(logging.INFO, logger="dialer.attempts"):
        CampaignRecorder("Loans", AbandonmentLedger(cap=0.03), Metrics()).attempt(call)
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "attempt"]
    assert record.number != NUMBER and record.number.startswith("+331") and record.number.endswith("300")
    assert NUMBER not in caplog.text and all(NUMBER not in str(v) for v in vars(record).values())
