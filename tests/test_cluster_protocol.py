"""The lease and fence protocol, model-based: any interleaving of renew, expire, take over, write, pause and
resume leaves at most one daemon able to write for a campaign, and none launching on a lease it lost.

Runs the real lease code (``dialer.service.cluster``) on a real PostgreSQL database
of its own. Time is driven: the database's clock is the ``now`` each call
is given, and each daemon's monotonic clock runs at its own rate (within
5% of the database's, a drift the skew margin covers), also while it is
paused, as a SIGSTOPped process's clock does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from dialer.service.cluster import Fence, LeaseTimes, LocalLease, ensure_leases, holds, release, renew, take
from tests.cluster_helpers import base_url, fresh_database

DAEMONS = ("d1", "d2", "d3")
TIMES = LeaseTimes(lease_s=5.0, renew_s=1.0, skew_s=0.5)
pytestmark = [pytest.mark.pg, pytest.mark.slow]  # a database of its own on the shared server; many interleavings


@pytest.fixture(scope="module")
def factory():
    from lists.campaigns import create_campaign
    from lists.store import open_store

    with fresh_database(base_url()) as url:
        made = open_store(url)
        with made() as session:
            campaign_id = create_campaign(session, "Loans", kind="loan-offer", rules_profile="fr").id
            session.commit()
        yield made, campaign_id
        made.kw["bind"].dispose()


class _Daemon:
    """One daemon as the protocol sees it: its clock, its local lease, the fence it believes it holds."""

    def __init__(self, name: str, rate: float):
        self.name, self.rate, self.clock_s, self.paused = name, rate, 0.0, False
        self.lease = LocalLease(TIMES, clock=lambda: self.clock_s)
        self.fence: Fence | None = None


class LeaseProtocol(RuleBasedStateMachine):
    factory = None
    campaign_id = 0

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 11, 24, 10, 0)
        self.daemons: dict[str, _Daemon] = {}
        self.token_seen = 0

    @initialize(rates=st.lists(st.sampled_from([0.95, 1.0, 1.05]) | st.floats(0.95, 1.05), min_size=len(DAEMONS),
                               max_size=len(DAEMONS)))
    def start(self, rates: list[float]) -> None:
        with self.factory() as session:
            session.execute(text("DELETE FROM campaign_lease"))
            session.commit()
            ensure_leases(session, [self.campaign_id])
        self.daemons = {name: _Daemon(name, rate) for name, rate in zip(DAEMONS, rates, strict=True)}

    def _awake(self, name: str) -> _Daemon | None:
        d = self.daemons[name]
        return None if d.paused else d

    @rule(seconds=st.sampled_from([0.3, 1.3, 2.6]) | st.floats(0.05, 4.0))
    def time_passes(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        for d in self.daemons.values():
            d.clock_s += seconds * d.rate

    @rule(name=st.sampled_from(DAEMONS))
    def try_take(self, name: str) -> None:
        d = self._awake(name)
        if d is None:
            return
        with self.factory() as session:
            sent = d.lease.sent()
            fence = take(session, self.campaign_id, d.name, TIMES.lease_s, self.now)
            session.commit()
        if fence is not None:
            assert fence.token > self.token_seen, "a takeover must raise the token"
            self.token_seen = fence.token
            d.fence = fence
            d.lease.granted(sent)

    @rule(name=st.sampled_from(DAEMONS))
    def try_renew(self, name: str) -> None:
        d = self._awake(name)
        if d is None or d.fence is None:
            return
        with self.factory() as session:
            sent = d.lease.sent()
            if renew(session, d.fence, TIMES.lease_s, 1, self.now):
                d.lease.granted(sent)
            else:
                d.fence = None
                d.lease.lose()

    @rule(name=st.sampled_from(DAEMONS))
    def try_release(self, name: str) -> None:
        d = self._awake(name)
        if d is None or d.fence is None:
            return
        with self.factory() as session:
            release(session, d.fence)
        d.fence = None
        d.lease.lose()

    @rule(name=st.sampled_from(DAEMONS))
    def pause(self, name: str) -> None:
        self.daemons[name].paused = True

    @rule(name=st.sampled_from(DAEMONS))
    def resume(self, name: str) -> None:
        self.daemons[name].paused = False

    @precondition(lambda self: any(d.fence for d in self.daemons.values()))
    @rule(writer=st.sampled_from(DAEMONS), taker=st.sampled_from(DAEMONS))
    def takeover_waits_for_a_write_in_flight(self, writer: str, taker: str) -> None:
        """While a write holds the fence (FOR SHARE), no takeover gets through, however expired the lease."""
        w, t = self.daemons[writer], self.daemons[taker]
        if w.fence is None or writer == taker:
            return
        with self.factory() as writing, self.factory() as taking:
            if not holds(writing, w.fence):
                writing.rollback()
                return
            taking.execute(text("SET LOCAL lock_timeout = '50ms'"))
            try:  # an unexpired row does not match the takeover's WHERE: it fails at once; an expired one waits
                assert take(taking, self.campaign_id, t.name, TIMES.lease_s, self.now) is None
            except OperationalError as exc:
                assert "lock timeout" in str(exc)
            taking.rollback()
            writing.commit()

    @invariant()
    def at_most_one_writer(self) -> None:
        """The fence lets at most one daemon write, and it is the one the database names."""
        if not self.daemons:
            return
        with self.factory() as session:
            able = [d.name for d in self.daemons.values() if d.fence is not None and holds(session, d.fence)]
            session.rollback()
        assert len(able) <= 1, able

    @invariant()
    def a_locally_valid_lease_is_the_live_one(self) -> None:
        """A daemon that would launch by its own clock holds the row, unexpired by the database's clock: no
        other daemon can have taken the campaign over (so none launches beside it)."""
        launching = [d for d in self.daemons.values() if d.fence is not None and d.lease.valid()]
        assert len(launching) <= 1, [d.name for d in launching]
        if not launching:
            return
        with self.factory() as session:
            owner, token, expires = session.execute(text(
                "SELECT owner, token, expires_at FROM campaign_lease WHERE campaign_id = :c"),
                {"c": self.campaign_id}).one()
        d = launching[0]
        assert d.fence is not None
        assert (owner, token) == (d.name, d.fence.token)
        assert expires > self.now


def test_any_interleaving_leaves_at_most_one_daemon_able_to_write(factory):
    LeaseProtocol.factory, LeaseProtocol.campaign_id = factory
    machine = settings(max_examples=200, stateful_step_count=25, deadline=None)(LeaseProtocol)
    machine.TestCase().runTest()
