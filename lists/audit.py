"""The audit trail: who saw whose name or number (``LeadView``), and who did what (``AuditEvent``).

Why two tables: a read of one person is asked about per person ("who saw my
data?") and is written on every screen pop, so it is a narrow row indexed by
lead; an action (an export, a settings change) is rare and asked about by
time and actor. ``audit_trail`` reads both as one time-ordered list for
``dialer audit``. Neither ever holds a raw number or name: details carry
masked numbers, ids and counts.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lists.models import AuditAction, AuditEvent, Campaign, LeadView, User, ViewPurpose, as_utc, to_db
from lists.periods import Period

__all__ = ["cli_actor", "record_view", "record", "settings_of", "record_settings", "AuditRow", "audit_trail",
           "VIEW"]

VIEW = "view"  # the action word of a LeadView row in the trail
_NOT_SETTINGS = frozenset({"id", "version", "state"})  # the state moves by CONTROL actions


def cli_actor() -> str:
    """Who runs a command: the system account, since the command line has no dialer login."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "cli:unknown"


def record_view(session: Session, user_id: int, lead_id: int, campaign_id: int, now: datetime,
                purpose: ViewPurpose = ViewPurpose.LEAD_CARD) -> None:
    """Append one row: user ``user_id`` saw lead ``lead_id``'s name or number at ``now`` (the caller commits)."""
    session.add(LeadView(user_id=user_id, lead_id=lead_id, campaign_id=campaign_id, viewed_at=to_db(now),
                         purpose=purpose))


def record(session: Session, actor: str, action: AuditAction, now: datetime, campaign_id: int | None = None,
           **detail: Any) -> None:
    """Append one action (the caller commits, so the action and its audit row land together or not at all).
    ``detail``: JSON values, never a raw number or name."""
    session.add(AuditEvent(at=to_db(now), actor=actor, action=action, campaign_id=campaign_id, detail=detail))


def settings_of(campaign: Campaign) -> dict[str, Any]:
    """What a campaign does, flattened to leaves (``catalogue.refusal_reasons.too_expensive``), to compare a
    campaign before and after an edit."""
    return dict(_leaves({c.name: getattr(campaign, c.name) for c in Campaign.__table__.columns
                         if c.name not in _NOT_SETTINGS}))


def _leaves(values: dict[str, Any], prefix: str = "") -> Any:
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def record_settings(session: Session, actor: str, now: datetime, campaign: Campaign,
                    before: dict[str, Any] | None) -> None:
    """A SETTINGS row naming each changed setting with its old and new value (``before`` None: created)."""
    after = settings_of(campaign)
    if before is None:
        record(session, actor, AuditAction.SETTINGS, now, campaign.id, created=campaign.name)
        return
    changed = {key: [before.get(key), after.get(key)] for key in sorted(before.keys() | after.keys())
               if before.get(key) != after.get(key)}
    if changed:
        record(session, actor, AuditAction.SETTINGS, now, campaign.id, changed=changed)


@dataclass(frozen=True)
class AuditRow:
    """One line of the trail. ``action``: an ``AuditAction`` value, or ``view``."""

    at: datetime
    actor: str
    action: str
    campaign: str | None
    what: str


def _shown(detail: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(detail.items()))


def audit_trail(session: Session, period: Period, actor: str | None = None,
                campaign_id: int | None = None) -> list[AuditRow]:
    """Views and actions within ``period``, oldest first."""
    names = dict(session.execute(select(Campaign.id, Campaign.name)).all())
    events = select(AuditEvent).where(*period.holds(AuditEvent.at))
    views = select(LeadView, User.name).join(User, User.id == LeadView.user_id).where(*period.holds(LeadView.viewed_at))
    if actor is not None:
        events, views = events.where(AuditEvent.actor == actor), views.where(User.name == actor)
    if campaign_id is not None:
        events = events.where(AuditEvent.campaign_id == campaign_id)
        views = views.where(LeadView.campaign_id == campaign_id)
    rows = [AuditRow(as_utc(e.at), e.actor, e.action.value, names.get(e.campaign_id) if e.campaign_id else None,  # type: ignore[arg-type]
                     _shown(e.detail)) for e in session.scalars(events)]
    rows += [AuditRow(as_utc(v.viewed_at), user, VIEW, names.get(v.campaign_id),  # type: ignore[arg-type]
                      f"lead {v.lead_id} ({v.purpose.value})") for v, user in session.execute(views).all()]
    return sorted(rows, key=lambda row: row.at)
