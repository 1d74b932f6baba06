"""Campaign reports for managers, from the attempt ledger, the agents' log and the leads, and the lead export.

Each report is a small table (``Report``) that the CLI prints, writes as CSV
or JSON, or plots (``Report.plot``: one bar panel per group of rows). Refusals
and dispositions count attempts (every refusal is kept, even a lead's earlier
ones); penetration counts leads. The agents report (``AgentsReport``) has a
row per agent: calls, time and outcomes.

Every report reads a ``Period``: an attempt belongs to the period it was
dialled in (its talk and wrap-up with it, whole), and logged-in and paused
time is cut at the period's edges. Dates are the campaign's (``home_zone``
by its rules profile): ``--to 2026-11-24`` takes in the whole of that day.

Why DNC is computed here, not read from ``lead.status``: a registry import
does not touch the leads (the dial-time check in ``lists.selection`` closes
them when they come up), so a lead whose number is on a registry or the
company's own list still says ``new``. Reports and the export show it as
``dnc``, because it will never be dialled.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from dialer.records import Outcome
from lists.campaigns import NOT_IN_CATALOGUE, SALE_CODES, label_of
from lists.lifecycle import QUEUES, LeadStatus
from lists.models import Attempt, Campaign, DncEntry, Lead
from lists.numbers import mask_number
from lists.periods import EVERYTHING, Period, period_of
from lists.presence import AgentTime, agent_times
from lists.quality import agent_quality

__all__ = ["Report", "refusals_report", "dispositions_report", "penetration_report", "export_leads", "REPORTS",
           "OUTCOME_LABELS", "STATUS_LABELS", "EXPORT_COLUMNS", "Period", "EVERYTHING", "period_of",
           "AgentRow", "AgentsReport", "agents_report", "duration"]


OUTCOME_LABELS = {  # what the network said, for attempts no agent coded
    "human": "Answered by a person", "machine": "Answering machine", "busy": "Busy", "no_answer": "No answer",
    "invalid": "Invalid number", "abandoned": "Abandoned (no agent in time)",
}
STATUS_LABELS = {
    LeadStatus.NEW: "Not yet dialled, due", LeadStatus.CLAIMED: "Being dialled now",
    LeadStatus.RETRY: "Waiting for a retry", LeadStatus.CALLBACK: "Callback booked", LeadStatus.DONE: "Finished",
    LeadStatus.DNC: "Do not call (will not be dialled)",
    LeadStatus.NO_WINDOW: ("Set aside: the window never opens in all its time zones "
                           "(give a timezone or subdivision)"),
    LeadStatus.ERASED: "Erased: the person's data was removed (on request, or past retention)",
}


@dataclass
class Report:
    """A titled table. ``rows`` hold (code, label, count, share), share as a fraction of ``total``.

    ``groups`` names plot panels by code prefix: a row coded ``status:new``
    goes in panel ``groups["status"]``, a code without a known prefix in
    panel ``groups.get("")``.
    """

    title: str
    rows: list[tuple[str, str, int, float]]
    total: int
    groups: dict[str, str] = field(default_factory=dict)

    columns = ("code", "label", "count", "share")
    axis, unit = "count", ""  # the plot's value axis, and what follows each bar's value

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def text(self) -> str:
        width = max([len(r[1]) for r in self.rows] + [5])
        lines = [self.title, f"{'label':<{width}}  {'count':>8}  {'share':>7}"]
        lines += [f"{label:<{width}}  {count:>8}  {share:>7.1%}" for _, label, count, share in self.rows]
        lines.append(f"{'total':<{width}}  {self.total:>8}")
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(self.columns)
            writer.writerows(self.rows)

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps({"title": self.title, "total": self.total, "rows": self.as_dicts()}, indent=2,
                                   ensure_ascii=False), encoding="utf-8")

    def panels(self) -> list[tuple[str, list[str], list[float]]]:
        """(subtitle, labels, counts) per group of rows, in order of appearance: one plot panel each."""
        if not self.rows:
            return [("", [], [])]
        grouped: dict[str, tuple[list[str], list[float]]] = {}
        for code, label, count, _ in self.rows:
            prefix = code.partition(":")[0] if ":" in code else ""
            labels, counts = grouped.setdefault(prefix if prefix in self.groups else "", ([], []))
            labels.append(label)
            counts.append(count)
        return [(self.groups.get(key, ""), labels, counts) for key, (labels, counts) in grouped.items()]



def _table(title: str, counts: list[tuple[str, int]], labels: dict[str, str], total: int) -> Report:
    rows = [(code, label_of(code, labels), count, count / total if total else 0.0)
            for code, count in sorted(counts, key=lambda item: (-item[1], item[0]))]
    return Report(title, rows, total)


def _dialled_in(campaign: Campaign, period: Period) -> list[ColumnElement[bool]]:
    """The campaign's attempts dialled within the period (its campaign and dial-time index serves this)."""
    return [Attempt.campaign_id == campaign.id, *period.holds(Attempt.dialled_at)]


def refusals_report(session: Session, campaign: Campaign, period: Period = EVERYTHING) -> Report:
    """Refusals by reason: what to change in the offer, and whom to call back when it changes."""
    found = session.execute(
        select(Attempt.refusal_reason, func.count()).where(
            *_dialled_in(campaign, period), Attempt.refusal_reason.is_not(None))
        .group_by(Attempt.refusal_reason)).all()
    counts = [(str(code), int(n)) for code, n in found]
    catalogue = campaign.catalogue.get("refusal_reasons", {})
    labels = {code: label_of(code, catalogue, NOT_IN_CATALOGUE) for code, _ in counts}
    return _table(period.titled(f"Refusals by reason: {campaign.name}"), counts, labels, sum(n for _, n in counts))


def dispositions_report(session: Session, campaign: Campaign, period: Period = EVERYTHING) -> Report:
    """Attempts by final code: the agent's disposition, else the network outcome (busy, no answer, machine...)."""
    code = func.coalesce(Attempt.disposition, Attempt.outcome)
    counts = [(str(c), int(n)) for c, n in session.execute(
        select(code, func.count()).where(*_dialled_in(campaign, period)).group_by(code)).all()]
    labels = {**OUTCOME_LABELS, **campaign.catalogue.get("outcomes", {})}
    return _table(period.titled(f"Attempts by disposition: {campaign.name}"), counts, labels,
                  sum(n for _, n in counts))


def _on_dnc(campaign: Campaign) -> Any:
    """True where the lead's number is on any of the company's DNC lists (its own or an imported registry)."""
    return select(DncEntry.id).where(DncEntry.company == campaign.company,
                                     DncEntry.phone_key == Lead.phone_key).exists()


def _shown_status(campaign: Campaign) -> Any:
    """The status a manager should see: an open lead on a DNC list is ``dnc``, since the claim will close it."""
    return case((and_(Lead.status.in_(QUEUES), _on_dnc(campaign)), LeadStatus.DNC), else_=Lead.status)


def _dialled_leads(session: Session, campaign: Campaign, period: Period, *where: ColumnElement[bool]) -> int:
    """Leads with an attempt in the period (and meeting ``where``)."""
    return session.scalar(select(func.count(func.distinct(Attempt.lead_id))).where(
        *_dialled_in(campaign, period), *where)) or 0


def penetration_report(session: Session, campaign: Campaign, period: Period = EVERYTHING) -> Report:
    """How far into the list the campaign has got: leads by state, each as a share of all leads.

    "Reached a person" counts leads with an attempt whose outcome is
    ``human`` (an answering machine, even one AMD missed, is nobody).
    Leads whose number is on a DNC list count as ``dnc`` even before a claim
    has come to them; "on a DNC list" counts every such lead, dialled or not.
    With a period, dialled and reached count the leads dialled within it;
    the statuses and the DNC count are the leads' now.
    """
    mine = Lead.campaign_id == campaign.id
    total = session.scalar(select(func.count()).where(mine)) or 0
    if period == EVERYTHING:
        attempted = session.scalar(select(func.count()).where(mine, Lead.attempts > 0)) or 0
    else:
        attempted = _dialled_leads(session, campaign, period)
    listed = session.scalar(
        select(func.count()).where(mine, or_(Lead.status == LeadStatus.DNC, _on_dnc(campaign)))) or 0
    reached = _dialled_leads(session, campaign, period, Attempt.outcome == Outcome.HUMAN)  # a machine is nobody
    status = _shown_status(campaign)
    counted = session.execute(select(status, func.count()).where(mine).group_by(status)).all()
    by_status: dict[LeadStatus, int] = dict(counted)
    within = " in the period" if period.label else ""
    rows = [("attempted", "Dialled at least once" + within, attempted),
            ("reached", "Reached a person" + within, reached),
            ("untouched", "Not dialled in the period" if within else "Not yet dialled", total - attempted),
            ("dnc_listed", "Number on a DNC list", listed),
            *((f"status:{s}", STATUS_LABELS[s], int(n)) for s, n in sorted(by_status.items()))]
    return Report(period.titled(f"List penetration: {campaign.name}"),
                  [(code, label, n, n / total if total else 0.0) for code, label, n in rows], total,
                  groups={"": "List progress", "status": "Leads by status now"})


REPORTS = {"refusals": refusals_report, "dispositions": dispositions_report, "penetration": penetration_report}


def duration(seconds: float) -> str:
    """Seconds as h:mm:ss, the way a shift is read."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(kw_only=True)
class AgentRow(AgentTime):
    """One agent's period; times in seconds (logged-in and paused time from ``AgentTime``).

    ``calls`` are the attempts put through to the agent, ``contacts`` those
    that reached a person (an answering machine put through is a call, not a
    contact); sales count the catalogue's sale outcomes (``SALE_CODES``)."""

    agent: str
    calls: int = 0
    contacts: int = 0
    sales: int = 0
    refusals: int = 0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    quality: float | None = None  # the mean of the agent's scored calls, 0-100 (``lists.quality``); None: none
    quality_calls: int = 0  # how many of their calls were scored

    @property
    def occupancy(self) -> float | None:
        """Talk and wrap-up as a share of logged-in time, paused time excluded; None with no such time."""
        return _share(self.talk_s + self.wrap_s, self.available_s)

    @property
    def waiting_s(self) -> float:
        """Ready and waiting for a call: logged in, not paused, neither talking nor in wrap-up (never below 0: a
        call dialled in the period may run past its end)."""
        return max(0.0, self.available_s - self.talk_s - self.wrap_s)

    @property
    def calls_per_hour(self) -> float | None:
        """Calls per logged-in hour."""
        return _share(self.calls * 3600.0, self.logged_in_s)

    @property
    def conversion(self) -> float | None:
        """Sales per contact."""
        return _share(self.sales, self.contacts)

    def add_call(self, outcome: str, disposition: str | None, reason: str | None, talk_s: float,
                 wrap_s: float) -> None:
        self.calls += 1
        self.contacts += outcome == Outcome.HUMAN
        self.sales += disposition in SALE_CODES
        self.refusals += reason is not None
        self.talk_s += talk_s
        self.wrap_s += wrap_s

    def add_time(self, time: AgentTime) -> None:
        self.logged_in_s += time.logged_in_s
        for reason, seconds in time.paused_s.items():
            self.paused_s[reason] = self.paused_s.get(reason, 0.0) + seconds


_AGENT_COLUMNS = ("agent", "calls", "calls/h", "logged in", "waiting", "talk", "wrap-up", "paused", "occupancy",
                  "contacts", "sales", "refusals", "conversion", "quality")


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _cells(row: AgentRow) -> tuple[str, ...]:
    per_hour = "-" if row.calls_per_hour is None else f"{row.calls_per_hour:.1f}"
    return (row.agent, f"{row.calls:,}", per_hour, duration(row.logged_in_s), duration(row.waiting_s),
            duration(row.talk_s),
            duration(row.wrap_s), duration(sum(row.paused_s.values())), _percent(row.occupancy),
            f"{row.contacts:,}", f"{row.sales:,}", f"{row.refusals:,}", _percent(row.conversion), _quality(row))


def _quality(row: AgentRow) -> str:
    return "-" if row.quality is None else f"{row.quality:.1f} ({row.quality_calls:,})"


@dataclass
class AgentsReport:
    """Per agent: calls, time, outcomes, with a total row. An agent with calls and no logged-in time (a store
    written before the agents' log was kept) shows "-" where a figure needs that time."""

    title: str
    rows: list[AgentRow]

    axis, unit = "occupancy, % of logged-in time less pauses", "%"

    @property
    def total(self) -> AgentRow:
        total = AgentRow(agent="total")
        for row in self.rows:
            for name in ("calls", "contacts", "sales", "refusals", "talk_s", "wrap_s"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.add_time(AgentTime(row.logged_in_s, row.paused_s))
        scored = [row for row in self.rows if row.quality is not None]
        total.quality_calls = sum(row.quality_calls for row in scored)
        if total.quality_calls:  # every scored call weighs the same, whoever took it
            total.quality = sum((row.quality or 0.0) * row.quality_calls for row in scored) / total.quality_calls
        return total

    def text(self) -> str:
        table = [_AGENT_COLUMNS, *(_cells(row) for row in (*self.rows, self.total))]
        widths = [max(len(line[k]) for line in table) for k in range(len(_AGENT_COLUMNS))]
        lines = [self.title, *("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w)
                                         for k, (cell, w) in enumerate(zip(line, widths, strict=True)))
                               for line in table)]
        pauses = [f"  {row.agent}: " + ", ".join(f"{label_of(reason, {})} {duration(seconds)}"
                                                 for reason, seconds in sorted(row.paused_s.items()))
                  for row in self.rows if row.paused_s]
        if pauses:
            lines += ["paused, by reason:", *pauses]
        lines.append("occupancy: talk and wrap-up over logged-in time less pauses; calls/h per logged-in hour; "
                     "conversion: sales per contact; quality: the mean score (0-100) of the agent's scored calls "
                     "(how many)")
        return "\n".join(lines)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every row with its figures (seconds, and shares as fractions of 1, None where undefined)."""
        return [{**asdict(row), "available_s": row.available_s, "waiting_s": row.waiting_s,
                 "occupancy": row.occupancy, "calls_per_hour": row.calls_per_hour, "conversion": row.conversion}
                for row in self.rows]

    def write_csv(self, path: Path) -> None:
        rows = self.as_dicts()
        reasons = sorted({reason for row in self.rows for reason in row.paused_s})
        fields = [k for k in (rows[0] if rows else {}) if k != "paused_s"] + [f"paused_s:{r}" for r in reasons]
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields or ["agent"])
            writer.writeheader()
            for row in rows:
                paused = row.pop("paused_s")
                writer.writerow({**row, **{f"paused_s:{r}": paused.get(r, 0.0) for r in reasons}})

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps({"title": self.title, "rows": self.as_dicts()}, indent=2, ensure_ascii=False),
                        encoding="utf-8")

    def panels(self) -> list[tuple[str, list[str], list[float]]]:
        """Occupancy per agent, in percent (agents with no logged-in time left out)."""
        known = [row for row in self.rows if row.occupancy is not None]
        return [("", [row.agent for row in known], [100.0 * (row.occupancy or 0.0) for row in known])]


def agents_report(session: Session, campaign: Campaign, period: Period, now: datetime) -> AgentsReport:
    """Each agent's calls, talk and wrap-up (from the attempts dialled in the period), logged-in and paused time
    (from the agents' log, cut at the period's edges; an agent still logged in counts up to ``now``), their
    outcomes, and their quality score (over their calls dialled in the period)."""
    rows: dict[str, AgentRow] = {}
    query = select(Attempt.agent, Attempt.outcome, Attempt.disposition, Attempt.refusal_reason,
                   Attempt.connected_at, Attempt.hangup_at, Attempt.data).where(
        *_dialled_in(campaign, period), Attempt.agent.is_not(None), Attempt.connected_at.is_not(None))
    for agent, outcome, disposition, reason, connected, hangup, data in session.execute(query):
        talk_s = max(0.0, ((hangup or connected) - connected).total_seconds())
        wrap_s = float((data or {}).get("wrap_s", 0.0))
        rows.setdefault(agent, AgentRow(agent=agent)).add_call(outcome, disposition, reason, talk_s, wrap_s)
    for agent, time in agent_times(session, campaign.id, period.start, period.end, now).items():
        rows.setdefault(agent, AgentRow(agent=agent)).add_time(time)
    for agent, quality in agent_quality(session, campaign.id, period).items():
        row = rows.setdefault(agent, AgentRow(agent=agent))
        row.quality, row.quality_calls = quality.mean, quality.calls
    return AgentsReport(period.titled(f"Agents: {campaign.name}"), [rows[name] for name in sorted(rows, key=_natural)])


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """Names in the order people count: a2 before a10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)

EXPORT_COLUMNS = ("phone_e164", "name", "timezone", "status", "attempts", "last_disposition", "refusal_reason", "dnc")


def _dnc_sources(session: Session, campaign: Campaign, keys: list[str]) -> dict[str, str]:
    """Person (blind index) → the DNC lists their number is on ("internal" is the company's own), comma-separated."""
    found: dict[str, set[str]] = {}
    for key, source in session.execute(select(DncEntry.phone_key, DncEntry.source).where(
            DncEntry.company == campaign.company, DncEntry.phone_key.in_(keys))):
        found.setdefault(key, set()).add(source)
    return {key: ",".join(sorted(sources)) for key, sources in found.items()}


def export_leads(session: Session, campaign: Campaign, path: Path, mask: bool = False, batch: int = 5000) -> int:
    """Write the campaign's leads as CSV; ``mask`` hides the middle digits and the name. Returns the row count.

    ``status`` is what the lead will do next: an open lead on a DNC list
    shows ``dnc``; the ``dnc`` column names the lists its number is on.
    """
    query = select(Lead).where(Lead.campaign_id == campaign.id).order_by(Lead.id).execution_options(yield_per=batch)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for leads in session.scalars(query).partitions():
            sources = _dnc_sources(session, campaign, [lead.phone_key for lead in leads])
            writer.writerows(_export_row(lead, sources.get(lead.phone_key, ""), mask) for lead in leads)
            count += len(leads)
    return count


def _export_row(lead: Lead, dnc: str, mask: bool) -> tuple[Any, ...]:
    phone, name = (mask_number(lead.phone_e164), "") if mask else (lead.phone_e164, lead.name or "")
    status = LeadStatus.DNC if dnc and lead.status in QUEUES else lead.status
    return (phone, name, lead.zones, status, lead.attempts, lead.last_disposition or "", lead.refusal_reason or "",
            dnc)
