"""Helpers for the API tests: a daemon on the sim driver with API agents, users of every role, a client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.daemon_helpers import CAMPAIGN, Running, make_config, make_scenario, make_store, start_daemon

ROLES = ("agent", "supervisor", "manager", "analyst", "admin")
OTHER = "Other"  # a campaign no granted user has
PASSWORD = "correct horse battery"
FOREIGN_COMPANY = "initech"  # another tenant: none of the test users above belongs to it
FOREIGN = "Initech Loans"  # its campaign
FOREIGN_LISTED = "+33149990001"  # its lead on its own DNC list (status dnc)
FOREIGN_OPEN = "+33149990002"  # its lead still to be called
FOREIGN_PERSON = "Foreign Person"  # both leads' name
PERSON = "Quality Person"  # the lead of the calls add_connected_calls writes


@dataclass
class ApiDaemon:
    """A running daemon, its store URL, its campaigns' ids and a token per user name."""

    running: Running
    url: str
    tokens: dict[str, str]
    campaigns: dict[str, int]
    log: Path
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.running.port}"

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        client = httpx.Client(base_url=self.base, headers=headers, timeout=10)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


def make_users(url: str, foreign: bool = False) -> tuple[dict[str, str], dict[str, int]]:
    """One user per role granted the test campaign (``agent``, ``manager`` ...), a second agent
    (``agent2``), a manager of the other campaign only (``manager_other``), all of the company ``default``;
    tokens for all. ``foreign``: also another company (``make_foreign``)."""
    from dialer.service.users import Role, add_user, issue_token
    from lists.campaigns import create_campaign
    from lists.models import DUE_ANY_TIME, Campaign, Lead, insert_new_leads
    from lists.store import open_store

    factory = open_store(url)
    now = datetime.now(UTC)
    tokens = {}
    with factory() as session:
        other = create_campaign(session, OTHER, kind="survey", rules_profile="fr", caller_id="+33142685301")
        insert_new_leads(session, other.id, DUE_ANY_TIME, [("+33142685000", "Other Person", "FR", "Europe/Paris",
                                                            "{}")])
        users = [(role, Role(role), (CAMPAIGN,)) for role in ROLES]
        users += [("agent2", Role.AGENT, (CAMPAIGN,)), ("manager_other", Role.MANAGER, (OTHER,))]
        for name, role, campaigns in users:
            add_user(session, name, role, now, PASSWORD, campaigns)
            tokens[name] = issue_token(session, name, now, "test")
        if foreign:
            tokens |= make_foreign(session, now)
        session.commit()
        campaigns = {c.name: c.id for c in session.query(Campaign)}
        campaigns["other_lead"] = session.query(Lead.id).filter(Lead.campaign_id == other.id).scalar()
    factory.kw["bind"].dispose()
    return tokens, campaigns


def make_foreign(session, now: datetime) -> dict[str, str]:
    """Company ``initech`` with its campaign, two leads (one on its DNC list), and its own admin and manager
    (``foreign_admin``, ``foreign_manager``); their tokens."""
    from dialer.service.users import Role, add_user, issue_token
    from lists.campaigns import create_campaign
    from lists.companies import add_company
    from lists.dnc import add_to_dnc
    from lists.models import DUE_ANY_TIME, insert_new_leads

    add_company(session, FOREIGN_COMPANY, now)
    campaign = create_campaign(session, FOREIGN, kind="survey", rules_profile="fr", caller_id="+33142685302",
                               company=FOREIGN_COMPANY)
    insert_new_leads(session, campaign.id, DUE_ANY_TIME, [(number, FOREIGN_PERSON, "FR", "Europe/Paris", "{}")
                                                          for number in (FOREIGN_LISTED, FOREIGN_OPEN)])
    add_to_dnc(session, FOREIGN_COMPANY, FOREIGN_LISTED, now)
    tokens = {}
    for name, role in (("foreign_admin", Role.ADMIN), ("foreign_manager", Role.MANAGER)):
        add_user(session, name, role, now, PASSWORD, (FOREIGN,), (FOREIGN_COMPANY,))
        tokens[name] = issue_token(session, name, now, "test")
    return tokens


def start_api_daemon(folder: Path, leads: int = 300, agents: str = "api", speed: float = 20.0,
                     dial_mode: str = "progressive", due: datetime | None = None,
                     foreign: bool = False) -> ApiDaemon:
    """``dialer serve`` with its users (``make_users``; ``foreign``: and another company's); the test
    campaign's leads are due from ``due`` (naive UTC; None: any time)."""
    url = make_store(folder, leads=leads, dial_mode=dial_mode, due=due)
    tokens, campaigns = make_users(url, foreign)
    config = make_config(folder, url, make_scenario(folder, agents=4), speed=speed, drain_timeout_s=5)
    config.write_text(config.read_text() + f'agents = "{agents}"\n', encoding="utf-8")
    log = folder / "daemon.log"
    return ApiDaemon(start_daemon(config, log), url, tokens, campaigns, log)


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def add_connected_calls(url: str, campaigns: dict[str, int]) -> dict[str, int]:
    """For the quality tests: a lead named ``PERSON`` in each campaign, and calls dialled an hour ago, connected
    90 s: ``a1`` and ``a2`` of ``agent``'s and ``b1`` of ``agent2``'s in Loans, ``other`` in Other (which the
    supervisor is not granted); ``none``, a dial no agent took. Their ids by those keys."""
    from sqlalchemy import select

    from lists.models import DUE_ANY_TIME, Attempt, Lead, insert_new_leads
    from lists.store import open_store

    factory = open_store(url)
    ids = {}
    with factory() as session:
        for campaign in (CAMPAIGN, OTHER):
            insert_new_leads(session, campaigns[campaign], DUE_ANY_TIME, [("+33142689999", PERSON, "FR",
                                                                           "Europe/Paris", "{}")])
        leads = dict(session.execute(select(Lead.campaign_id, Lead.id).where(Lead.name == PERSON)).all())
        at = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
        for key, campaign, agent in (("a1", CAMPAIGN, "agent"), ("a2", CAMPAIGN, "agent"),
                                     ("b1", CAMPAIGN, "agent2"), ("other", OTHER, "agent"), ("none", CAMPAIGN, None)):
            row = Attempt(lead_id=leads[campaigns[campaign]], campaign_id=campaigns[campaign], dialled_at=at,
                          connected_at=at + timedelta(seconds=5) if agent else None,
                          hangup_at=at + timedelta(seconds=95) if agent else None, agent=agent,
                          outcome="human" if agent else "no_answer", disposition="refused" if agent else None)
            session.add(row)
            session.flush()
            ids[key] = row.id
        session.commit()
    factory.kw["bind"].dispose()
    return ids
