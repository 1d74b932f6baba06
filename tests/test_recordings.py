"""Call recordings: finding an attempt's file, the nightly purge, and listening through the API.

Real files in a temporary folder, a real store (SQLite and PostgreSQL), and
the real application (``create_app``) over a minimal floor, called through
httpx's ASGI transport (Starlette's TestClient warns that its httpx use is
deprecated): the users, tokens, role checks and audit log are the daemon's
own; only the engines are absent, which a recording does not need.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialer.api import create_app
from dialer.drivers.asterisk import new_recording_name
from dialer.service.recordings import RecordingStore, Retention, nightly_purge
from lists.campaigns import create_campaign
from lists.models import DUE_ANY_TIME, Attempt, Campaign, Lead, LeadView, User, insert_new_leads
from tests.api_helpers import OTHER, make_users
from tests.daemon_helpers import CAMPAIGN

URL = "/api/v1/outbound/attempts/{}/recording"
DOTS = ".."  # a campaign whose driver folder would be the recordings' parent
T0 = datetime(2026, 11, 24, 9, 0)  # naive UTC, as stored


@dataclass
class MiniFloor:
    """What the recording route and authentication use of the daemon's ``Floor``."""

    factory: sessionmaker[Session]
    cors_origins: tuple[str, ...] = ()

    def now_utc(self) -> datetime:
        return datetime.now(UTC)

    async def off_loop(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _wav(path: Path, body: bytes) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return body


def _attempt(session: Session, lead: Lead, dialled_at: datetime, recording: str | None = None) -> int:
    row = Attempt(lead_id=lead.id, campaign_id=lead.campaign_id, dialled_at=dialled_at, outcome="human",
                  agent="agent", recording=recording)
    session.add(row)
    session.flush()
    return row.id


@dataclass
class World:
    app: FastAPI
    store: RecordingStore
    factory: sessionmaker[Session]
    tokens: dict[str, str]
    ids: dict[str, int]  # attempt ids by what they are
    bodies: dict[str, bytes]  # the recordings' bytes by attempt

    def get(self, user: str, attempt: str | int) -> httpx.Response:
        attempt_id = self.ids[attempt] if isinstance(attempt, str) else attempt
        return asyncio.run(self._get(URL.format(attempt_id), {"Authorization": f"Bearer {self.tokens[user]}"}))

    async def _get(self, url: str, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://dialer") as c:
            return await c.get(url, headers=headers)

    def audits(self) -> list[tuple[int, int, int, str]]:
        with self.factory() as session:
            rows = session.execute(select(LeadView.user_id, LeadView.lead_id, LeadView.campaign_id, LeadView.purpose))
            return [tuple(row) for row in rows]


@pytest.fixture
def world(store, store_url, tmp_path) -> World:
    """Campaigns Loans (three attempts of one lead, the last two recorded, the first not, though a file named in
    the old way after its lead and number lies in the folder; one unrecorded attempt of another lead), Other (one
    recorded attempt) and ``..`` (its file put where its folder would be: above the root); a user per role
    (tests.api_helpers.make_users)."""
    root = tmp_path / "spool" / "recording"
    root.mkdir(parents=True)
    with store() as session:
        for name in (CAMPAIGN, DOTS):
            campaign = create_campaign(session, name, kind="loan-offer", rules_profile="fr")
            insert_new_leads(session, campaign.id, DUE_ANY_TIME, [(f"+331426{campaign.id:02d}{k:03d}", None, "FR",
                                                                    "Europe/Paris", "{}") for k in range(2)])
        session.commit()
    tokens, _ = make_users(store_url)
    ids, bodies = {}, {}
    names = {key: new_recording_name(folder) for key, folder in (("second", CAMPAIGN), ("third", CAMPAIGN),
                                                                   ("other", OTHER), ("dots", DOTS))}
    with store() as session:
        leads = {c: list(session.scalars(select(Lead).join(Campaign).where(Campaign.name == c).order_by(Lead.id)))
                 for c in (CAMPAIGN, OTHER, DOTS)}
        first = leads[CAMPAIGN][0]
        ids["third"] = _attempt(session, first, T0 + timedelta(hours=2), names["third"])
        ids["first"] = _attempt(session, first, T0)
        ids["second"] = _attempt(session, first, T0 + timedelta(hours=1), names["second"])
        ids["unrecorded"] = _attempt(session, leads[CAMPAIGN][1], T0)
        ids["other"] = _attempt(session, leads[OTHER][0], T0, names["other"])
        ids["dots"] = _attempt(session, leads[DOTS][0], T0, names["dots"])
        session.commit()
        _wav(root / CAMPAIGN / f"{first.id}-0.wav", b"RIFF an older call of another store")
        for key, name in names.items():
            bodies[key] = _wav(root / f"{name}.wav", b"RIFF" + key.encode() * 64)
    recordings = RecordingStore(root)
    app = create_app(MiniFloor(store), recordings)  # type: ignore[arg-type]
    return World(app, recordings, store, tokens, ids, bodies)


# -- finding a recording ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Loans", "Prêt à taux zéro", "a/b", "x/../y", "...", "Q4 2026: retention"])
def test_the_store_finds_the_file_the_driver_records_to_and_no_two_recordings_share_a_name(tmp_path, name):
    store = RecordingStore(tmp_path)
    recording, other = new_recording_name(name), new_recording_name(name)
    assert recording != other and recording.count("/") == 1
    _wav(tmp_path / f"{recording}.wav", b"RIFF")
    assert store.path_of(recording) == (tmp_path / f"{recording}.wav").resolve()
    assert store.path_of(other) is None


def test_no_recording_name_or_link_reaches_outside_the_root_or_a_file_not_named_by_an_id(tmp_path):
    root = tmp_path / "recording"
    some_id = new_recording_name("x").split("/")[1]
    outside = _wav(tmp_path / f"{some_id}.wav", b"secret")  # where the ".." campaign's recording would land
    _wav(tmp_path / "etc" / f"{some_id}.wav", outside)
    _wav(root / "Loans" / "7-0.wav", b"RIFF")
    store = RecordingStore(root)
    (root / "Linked").mkdir(parents=True)
    (root / "Linked" / f"{some_id}.wav").symlink_to(tmp_path / f"{some_id}.wav")
    (root / "Escaped").symlink_to(tmp_path / "etc")
    for folder in ("..", "../..", "../etc", "/etc", "Linked", "Escaped"):
        assert store.path_of(f"{folder}/{some_id}") is None, folder
    assert store.path_of("Loans/7-0") is None  # the old names are never served: they collided
    assert store.purge("..", datetime(2100, 1, 1, tzinfo=UTC)) == 0
    assert store.purge("Linked", datetime(2100, 1, 1, tzinfo=UTC)) == 0  # a link is never a recording
    assert store.purge("Escaped", datetime(2100, 1, 1, tzinfo=UTC)) == 0
    assert (tmp_path / f"{some_id}.wav").read_bytes() == (tmp_path / "etc" / f"{some_id}.wav").read_bytes()


# -- retention -------------------------------------------------------------------------------------------------


def _aged(path: Path, now: datetime, days: float) -> Path:
    _wav(path, b"RIFF")
    moment = (now - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))
    return path


def test_purge_deletes_only_the_campaigns_recordings_older_than_the_cutoff(tmp_path):
    now = datetime(2026, 12, 3, 3, 30, tzinfo=UTC)
    store = RecordingStore(tmp_path)
    old = [_aged(tmp_path / "Loans" / f"{k}-0.wav", now, 31) for k in range(2)]  # the old names age out too
    old.append(_aged(tmp_path / f"{new_recording_name('Loans')}.wav", now, 31))
    kept = [_aged(tmp_path / "Loans" / "9-0.wav", now, 29), _aged(tmp_path / "Loans" / "notes.wav", now, 400),
            _aged(tmp_path / "Loans" / "9-1.txt", now, 400), _aged(tmp_path / "Other" / "5-0.wav", now, 400),
            _aged(tmp_path / "Loans_old" / "6-0.wav", now, 400)]
    assert store.purge("Loans", now - timedelta(days=30)) == 3
    assert not any(path.exists() for path in old)
    assert all(path.exists() for path in kept)
    assert store.purge("Loans", now - timedelta(days=30)) == 0
    assert store.purge("Never recorded", now) == 0
    with pytest.raises(ValueError, match="aware"):
        store.purge("Loans", datetime(2026, 12, 1))


def test_the_nightly_purge_applies_each_campaigns_days(tmp_path):
    now = datetime(2026, 12, 3, 3, 30, tzinfo=UTC)
    store = RecordingStore(tmp_path)
    loans = _aged(tmp_path / "Loans" / "1-0.wav", now, 45)
    other = _aged(tmp_path / "a_b" / "2-0.wav", now, 45)  # the campaign "a/b": the driver's folder name
    assert nightly_purge(store, {"Loans": 30, "a/b": 90}, now) == {"Loans": 1, "a/b": 0}
    assert not loans.exists() and other.exists()
    assert nightly_purge(store, {"a/b": 44}, now) == {"a/b": 1}
    assert not other.exists()


def test_retention_has_a_default_and_refuses_less_than_a_day():
    now = datetime(2026, 12, 3, tzinfo=UTC)
    retention = Retention({"Loans": 30}, default_days=365)
    assert retention.cutoff("Loans", now) == now - timedelta(days=30)
    assert retention.cutoff("Surveys", now) == now - timedelta(days=365)
    with pytest.raises(ValueError, match="Loans: 0 days"):
        Retention({"Loans": 0})
    with pytest.raises(ValueError, match="default"):
        Retention(default_days=-1)


# -- the API ---------------------------------------------------------------------------------------------------

LISTENERS = ("supervisor", "manager", "admin")


@pytest.mark.parametrize("user", LISTENERS)
def test_the_campaigns_supervisors_managers_and_admins_hear_it_and_are_audited(world, user):
    response = world.get(user, "second")
    assert response.status_code == 200, response.text
    assert response.content == world.bodies["second"]
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-store"
    with world.factory() as session:
        attempt = session.get(Attempt, world.ids["second"])
        user_id = _user_id(session, user)
        assert world.audits() == [(user_id, attempt.lead_id, attempt.campaign_id, "recording")]
    assert world.get(user, "third").content == world.bodies["third"]  # each attempt its own file
    assert len(world.audits()) == 2  # every access


@pytest.mark.parametrize(("user", "status", "field"), [
    ("agent", 403, "role"), ("agent2", 403, "role"), ("analyst", 403, "role"), ("manager_other", 404, "attempt_id")])
def test_agents_analysts_and_other_campaigns_users_are_refused_like_lead_cards(world, user, status, field):
    response = world.get(user, "second")
    assert (response.status_code, response.json()["field"]) == (status, field), response.text
    assert b"RIFF" not in response.content
    assert world.audits() == []


def test_another_campaigns_manager_hears_their_own_campaign_and_the_admin_every_one(world):
    assert world.get("manager_other", "other").content == world.bodies["other"]
    assert world.get("manager", "other").status_code == 404
    assert world.get("admin", "other").content == world.bodies["other"]


def test_a_missing_attempt_or_recording_is_404_naming_it(world):
    for attempt, field in ((2**31 - 1, "attempt_id"), ("unrecorded", "recording"), ("first", "recording")):
        response = world.get("admin", attempt)
        assert (response.status_code, response.json()["field"]) == (404, field), response.text
    beyond = world.get("admin", 2**31)  # no store integer: refused before the store sees it
    assert (beyond.status_code, beyond.json()["field"]) == (422, "attempt_id"), beyond.text
    assert world.audits() == []


def test_a_campaign_named_dot_dot_never_serves_a_file_above_the_root(world):
    with world.factory() as session:
        name = session.get(Attempt, world.ids["dots"]).recording  # type: ignore[union-attr]
    assert (world.store.root / f"{name}.wav").read_bytes() == world.bodies["dots"]  # above the root
    response = world.get("admin", "dots")
    assert (response.status_code, response.json()["field"]) == (404, "recording"), response.text
    assert world.audits() == []


def test_a_daemon_without_recordings_says_so(world):
    world.app.state.recordings = None
    response = world.get("admin", "second")
    assert (response.status_code, response.json()) == (404, {"detail": "recordings are not kept on this daemon",
                                                             "field": "recording"})
    assert world.get("agent", "second").status_code == 403


def _user_id(session: Session, name: str) -> int:
    return session.scalar(select(User.id).where(User.name == name))  # type: ignore[return-value]



def test_a_campaign_name_reused_in_a_new_store_serves_only_its_own_attempts_recordings(tmp_path):
    """Two stores (an old one, and a new one the same campaign name and the same lead and attempt ids were made
    in again) record into one folder: each attempt gets its own file, and an attempt of the new store with no
    recording gets none, never the old store's call of the same ids."""
    from lists.store import open_store

    root = tmp_path / "spool" / "recording"
    served = []
    for k in range(2):
        url = f"sqlite:///{tmp_path / f'dialer{k}.db'}"
        factory = open_store(url)
        name = new_recording_name(CAMPAIGN)
        with factory() as session:
            campaign = create_campaign(session, CAMPAIGN, kind="loan-offer", rules_profile="fr")
            insert_new_leads(session, campaign.id, DUE_ANY_TIME, [("+33142600001", None, "FR", "Europe/Paris", "{}")])
            lead = session.scalars(select(Lead)).one()
            recorded = _attempt(session, lead, T0, name)
            unrecorded = _attempt(session, lead, T0 + timedelta(hours=1))
            session.commit()
        body = _wav(root / f"{name}.wav", f"RIFF store {k}".encode())
        tokens, _ = make_users(url)
        world = World(create_app(MiniFloor(factory), RecordingStore(root)), RecordingStore(root),  # type: ignore
                      factory, tokens, {"recorded": recorded, "unrecorded": unrecorded}, {"recorded": body})
        served.append((world.get("admin", "recorded").content, world.get("admin", "unrecorded").status_code))
        factory.kw["bind"].dispose()
    assert served == [(b"RIFF store 0", 404), (b"RIFF store 1", 404)]
    assert len(list((root / CAMPAIGN).iterdir())) == 2  # nothing overwritten


def test_a_recording_that_did_not_start_counts_on_the_wallboard_by_hour(tmp_path):
    from dialer.api.stats import hourly
    from lists.store import open_store

    factory = open_store(f"sqlite:///{tmp_path / 'dialer.db'}")
    with factory() as session:
        campaign = create_campaign(session, CAMPAIGN, kind="loan-offer", rules_profile="fr")
        insert_new_leads(session, campaign.id, DUE_ANY_TIME, [("+33142600001", None, "FR", "Europe/Paris", "{}")])
        lead = session.scalars(select(Lead)).one()
        _attempt(session, lead, T0, new_recording_name(CAMPAIGN))
        failed = session.get(Attempt, _attempt(session, lead, T0 + timedelta(minutes=5)))
        failed.recording_error = "409 Conflict"  # type: ignore[union-attr]
        session.commit()
        hours, _ = hourly(session, campaign.id, "Europe/Paris", T0.replace(tzinfo=UTC) + timedelta(hours=1))
    factory.kw["bind"].dispose()
    assert [(h.hour, h.attempts, h.recordings_failed) for h in hours] == [(10, 2, 1)]
