"""Several daemons on one PostgreSQL: campaign leases, fencing tokens, takeover, balance and drain.

Why leases and not a cluster protocol of our own: PostgreSQL is already the
shared, durable engine every daemon talks to, so one row per campaign
(``campaign_lease``) says who dials it. The owner renews the row well
before it expires; expiry is judged by the database's clock, never a
daemon's. A takeover of an expired row adds one to its ``token``.

The fence: every write a daemon makes for a campaign (a claim, a dial mark,
an attempt, a release) first locks the lease row ``FOR SHARE`` and checks
``owner = me AND token = mine`` in the same transaction (``holds``). A
takeover's UPDATE needs the row exclusively, so it waits for writes in
flight and every write after it finds the new token and is refused
(``Fenced``). A daemon paused past its lease (SIGSTOP, a long GC, a
partition) therefore cannot write when it wakes, and since a call is
originated only after its dial mark is committed, it cannot dial either.
Renewal checks owner and token too, not expiry: an owner whose lease
lapsed while the store was away, and which nobody took, keeps its campaign.

The local guard (``LocalLease``): the owner stops launching by its own
monotonic clock ``skew_s`` before the lease can expire, measured from the
moment it *sent* the renewal, so with no takeover possible before expiry no
two daemons ever launch for one campaign at once, even without the fence.

A paused owner may hold the lease row's share lock (SIGSTOP between a
write's fence check and its commit), which would hold a takeover up until it
woke. So every connection of a cluster daemon has an
``idle_in_transaction_session_timeout`` shorter than what a lease survives
(``bound_idle_transactions``): the server ends the paused transaction and
frees the row before the lease can expire. And a takeover waits for the
lock at most ``renew_s`` (``lock_timeout``), so the cycle never hangs.

``now``: every function takes an optional UTC moment standing in for the
database's clock (the protocol test drives time); None is ``now()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dialer.errors import DialerError
from pacing.errors import InvalidInput

__all__ = ["Fence", "Fenced", "LeaseTimes", "LocalLease", "LeaseRow", "Member", "ensure_leases", "take", "renew",
           "release", "holds", "heartbeat", "members", "leases", "save_pacing", "load_pacing", "request_drain",
           "drained", "drain", "pick", "bound_idle_transactions"]

_NOW = "COALESCE(CAST(:now AS timestamp), CAST(now() AT TIME ZONE 'UTC' AS timestamp))"


class Fenced(DialerError):
    """A write for a campaign whose lease this daemon no longer holds (another daemon took it over)."""


@dataclass(frozen=True)
class Fence:
    """A daemon's hold on a campaign: the lease's owner and token at the takeover. Every write carries it."""

    campaign_id: int
    owner: str
    token: int


@dataclass(frozen=True)
class LeaseTimes:
    """Seconds: ``lease_s`` a lease lasts from a renewal (database clock); ``renew_s`` between renewals;
    ``skew_s`` the margin by which an owner stops launching before its lease can expire (clock skew, rate
    drift, the renewal's own latency). A lease survives ``lease_s - renew_s - skew_s`` of store trouble."""

    lease_s: float = 15.0
    renew_s: float = 3.0
    skew_s: float = 2.0
    pacing_save_s: float = 30.0

    @property
    def idle_transaction_s(self) -> float:
        """How long the server lets a transaction sit idle (its client paused): less than a lease survives."""
        return max(0.5, self.lease_s - self.renew_s - self.skew_s)

    def __post_init__(self) -> None:
        if not (0 < self.renew_s and self.renew_s + self.skew_s < self.lease_s):
            raise ValueError("renew_s + skew_s must be less than lease_s")


class LocalLease:
    """The owner's own view of its lease: valid until ``skew_s`` before expiry, by a monotonic clock.

    ``clock``: seconds, monotonic (``time.monotonic``; the protocol test passes its own)."""

    def __init__(self, times: LeaseTimes, clock: Callable[[], float] = time.monotonic):
        self.times, self.clock = times, clock
        self.valid_until_s = -float("inf")

    def sent(self) -> float:
        """Call just before sending a take or a renewal; returns the moment to give ``granted``."""
        return self.clock()

    def granted(self, sent_s: float) -> None:
        """The database granted the lease asked for at ``sent_s``: it expires no earlier than ``lease_s`` later."""
        self.valid_until_s = sent_s + self.times.lease_s - self.times.skew_s

    def lose(self) -> None:
        self.valid_until_s = -float("inf")

    def valid(self) -> bool:
        """May this daemon launch a call now?"""
        return self.clock() < self.valid_until_s


@dataclass(frozen=True)
class LeaseRow:
    """A campaign's lease as read: ``live`` when it has an owner and has not expired by the database's clock."""

    campaign_id: int
    owner: str | None
    token: int
    live: bool
    agents: int


@dataclass(frozen=True)
class Member:
    """A daemon seen within a lease: the agents it dials for, whether it is draining."""

    name: str
    agents: int
    draining: bool


def _one(session: Session, sql: str, **params: Any) -> Any:
    return session.execute(text(sql), params).first()


def ensure_leases(session: Session, campaign_ids: Iterable[int]) -> None:
    """A free lease row for every campaign that has none yet (committed)."""
    for campaign_id in campaign_ids:
        session.execute(text("INSERT INTO campaign_lease (campaign_id) VALUES (:c) ON CONFLICT DO NOTHING"),
                        {"c": campaign_id})
    session.commit()


def take(session: Session, campaign_id: int, owner: str, lease_s: float, now: datetime | None = None,
         wait_s: float | None = None) -> Fence | None:
    """Take a campaign whose lease is free or expired: the token grows by one. Not committed, so the caller
    settles what the last owner left in flight (``store_ports.settle``) in the same transaction. ``wait_s``:
    how long to wait for a write in flight to let go of the row (None: as long as it takes); then None."""
    if wait_s is not None:
        session.execute(text(f"SET LOCAL lock_timeout = {int(wait_s * 1000)}"))
    try:
        return _take(session, campaign_id, owner, lease_s, now)
    except OperationalError as exc:
        if "lock timeout" not in str(exc):
            raise
        session.rollback()
        return None


def _take(session: Session, campaign_id: int, owner: str, lease_s: float, now: datetime | None) -> Fence | None:
    row = _one(session, f"""UPDATE campaign_lease SET owner = :me, token = token + 1,
                  expires_at = {_NOW} + make_interval(secs => :lease)
              WHERE campaign_id = :c AND (owner IS NULL OR expires_at <= {_NOW}) RETURNING token""",
               me=owner, c=campaign_id, lease=lease_s, now=now)
    return Fence(campaign_id, owner, int(row[0])) if row else None


def renew(session: Session, fence: Fence, lease_s: float, agents: int, now: datetime | None = None) -> bool:
    """Push the expiry ``lease_s`` on if this daemon still holds the token (expired or not); committed."""
    row = _one(session, f"""UPDATE campaign_lease SET expires_at = {_NOW} + make_interval(secs => :lease),
                  agents = :agents WHERE campaign_id = :c AND owner = :me AND token = :t RETURNING 1""",
               c=fence.campaign_id, me=fence.owner, t=fence.token, lease=lease_s, agents=max(1, agents), now=now)
    session.commit()
    return row is not None


def release(session: Session, fence: Fence) -> bool:
    """Give the campaign up at once (a drain, a shutdown, a rebalance): free for the next taker; committed."""
    row = _one(session, """UPDATE campaign_lease SET owner = NULL, expires_at = '2000-01-01'
                           WHERE campaign_id = :c AND owner = :me AND token = :t RETURNING 1""",
               c=fence.campaign_id, me=fence.owner, t=fence.token)
    session.commit()
    return row is not None


def holds(session: Session, fence: Fence) -> bool:
    """The fence: lock the lease row FOR SHARE and check it is still ours, in the caller's transaction, which
    must then write and commit (a takeover waits for it, and every later write sees the new token)."""
    return _one(session, """SELECT 1 FROM campaign_lease WHERE campaign_id = :c AND owner = :me AND token = :t
                            FOR SHARE""", c=fence.campaign_id, me=fence.owner, t=fence.token) is not None


def heartbeat(session: Session, name: str, agents: int, now: datetime | None = None) -> bool:
    """This daemon is alive and dials for ``agents`` agents; returns its drain flag. Committed."""
    row = _one(session, f"""INSERT INTO cluster_member (name, seen_at, agents, draining) VALUES (:n, {_NOW}, :a, false)
                           ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at, agents = EXCLUDED.agents
                           RETURNING draining""", n=name, a=agents, now=now)
    session.commit()
    return bool(row[0])


def members(session: Session, within_s: float, now: datetime | None = None) -> list[Member]:
    """The daemons seen within ``within_s`` seconds (database clock)."""
    rows = session.execute(text(f"""SELECT name, agents, draining FROM cluster_member
                                    WHERE seen_at > {_NOW} - make_interval(secs => :s) ORDER BY name"""),
                           {"s": within_s, "now": now})
    return [Member(name, int(agents), bool(draining)) for name, agents, draining in rows]


def leases(session: Session, campaign_ids: Sequence[int], now: datetime | None = None) -> list[LeaseRow]:
    """The leases of ``campaign_ids``, with whether each is live by the database's clock."""
    rows = session.execute(text(f"""SELECT campaign_id, owner, token, owner IS NOT NULL AND expires_at > {_NOW},
                                    agents FROM campaign_lease WHERE campaign_id = ANY(:ids) ORDER BY campaign_id"""),
                           {"ids": list(campaign_ids), "now": now})
    return [LeaseRow(int(c), owner, int(token), bool(live), int(agents)) for c, owner, token, live, agents in rows]


def save_pacing(session: Session, fence: Fence, blob: bytes | None) -> bool:
    """Store the campaign's pacing memory, or clear it (None: its policy learns nothing), fenced; committed."""
    row = _one(session, f"""UPDATE campaign_lease SET pacing = :p, pacing_saved_at = {_NOW}
                           WHERE campaign_id = :c AND owner = :me AND token = :t RETURNING 1""",
               p=blob, c=fence.campaign_id, me=fence.owner, t=fence.token, now=None)
    session.commit()
    return row is not None


def load_pacing(session: Session, campaign_id: int) -> bytes | None:
    row = _one(session, "SELECT pacing FROM campaign_lease WHERE campaign_id = :c", c=campaign_id)
    return bytes(row[0]) if row and row[0] is not None else None


def request_drain(factory: sessionmaker[Session], name: str, draining: bool = True) -> bool:
    """Ask daemon ``name`` to hand its campaigns over (it finishes calls in progress first); False when no
    daemon of that name has ever joined the cluster. ``draining=False`` lets it take campaigns again."""
    with factory() as session:
        row = _one(session, "UPDATE cluster_member SET draining = :d WHERE name = :n RETURNING 1", d=draining, n=name)
        session.commit()
        return row is not None


def drained(factory: sessionmaker[Session], name: str) -> bool:
    """Does daemon ``name`` hold no live lease?"""
    with factory() as session:
        row = _one(session, f"""SELECT count(*) FROM campaign_lease WHERE owner = :n AND expires_at > {_NOW}""",
                   n=name, now=None)
        return int(row[0]) == 0


def bound_idle_transactions(engine: Engine, seconds: float) -> None:
    """Every new connection of ``engine`` ends a transaction left idle for ``seconds`` (module doc)."""
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {int(seconds * 1000)}")
        dbapi_connection.autocommit = False
    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before (the migration's) go: every one from now on has the bound


def drain(factory: sessionmaker[Session], name: str, wait_s: float = 0.0, undo: bool = False,
          poll_s: float = 0.5) -> bool:
    """``dialer drain``: flag daemon ``name`` to hand its campaigns over, then wait up to ``wait_s`` seconds
    until it holds none; True when it holds none (``undo``: the flag is cleared, it may take campaigns again)."""
    if not request_drain(factory, name, not undo):
        raise InvalidInput("daemon", f"no daemon {name!r} has joined the cluster")
    deadline = time.monotonic() + wait_s
    while not undo and not drained(factory, name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True


def pick(me: str, alive: Sequence[Member], rows: Sequence[LeaseRow], mine: Sequence[int]) -> tuple[int | None,
                                                                                                   int | None]:
    """Balance by agent count: (a free campaign to take, one of mine to give up), each None for none.

    A daemon takes a free campaign (the heaviest first) only while no live
    daemon that is not draining carries less than it does (ties go to the
    first name), so campaigns spread by agents rather than by count. It
    gives one up only if moving it would leave it no less loaded than the
    lightest other daemon: every move makes the spread strictly smaller.
    """
    load = {m.name: 0 for m in alive if not m.draining}
    if me not in load:
        return None, None
    for row in rows:
        if row.live and row.owner in load:
            load[row.owner] += row.agents
    lightest = min(load.items(), key=lambda item: (item[1], item[0]))[0]
    free = sorted((r for r in rows if not r.live), key=lambda r: (-r.agents, r.campaign_id))
    taking = free[0].campaign_id if free and lightest == me else None
    others = [v for name, v in load.items() if name != me]
    weights = {r.campaign_id: r.agents for r in rows if r.campaign_id in mine}
    giving = None
    if others and weights and not free:
        smallest = min(weights, key=lambda c: (weights[c], c))
        if load[me] - weights[smallest] >= min(others) + weights[smallest]:
            giving = smallest
    return taking, giving
