"""Campaign reports for managers, from the attempt ledger and the leads, and the lead export.

Each report is a small table (``Report``) that the CLI prints, writes as CSV
or JSON, or plots (``Report.plot``: one bar panel per group of rows). Refusals
and dispositions count attempts (every refusal is kept, even a lead's earlier
ones); penetration counts leads.

Why DNC is computed here, not read from ``lead.status``: a registry import
does not touch the leads (the dial-time check in ``lists.selection`` closes
them when they come up), so a lead whose number is on a registry or the
company's own list still says ``new``. Reports and the export show it as
``dnc``, because it will never be dialled.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from dialer.records import Outcome
from lists.campaigns import code_label
from lists.lifecycle import QUEUES, LeadStatus
from lists.models import Attempt, Campaign, DncEntry, Lead
from lists.numbers import mask_number

__all__ = ["Report", "refusals_report", "dispositions_report", "penetration_report", "export_leads", "REPORTS",
           "OUTCOME_LABELS", "STATUS_LABELS", "EXPORT_COLUMNS"]


OUTCOME_LABELS = {  # what the network said, for attempts no agent coded
    "human": "Answered by a person", "machine": "Answering machine", "busy": "Busy", "no_answer": "No answer",
    "invalid": "Invalid number", "abandoned": "Abandoned (no agent in time)",
}
STATUS_LABELS = {
    LeadStatus.NEW: "Not yet dialled, due", LeadStatus.CLAIMED: "Being dialled now",
    LeadStatus.RETRY: "Waiting for a retry", LeadStatus.CALLBACK: "Callback booked", LeadStatus.DONE: "Finished",
    LeadStatus.DNC: "Do not call (will not be dialled)",
    LeadStatus.NO_WINDOW: "Set aside: the window never opens in all its time zones (give a timezone)",
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
    rows = [(code, labels.get(code, code), count, count / total if total else 0.0)
            for code, count in sorted(counts, key=lambda item: (-item[1], item[0]))]
    return Report(title, rows, total)


def refusals_report(session: Session, campaign: Campaign) -> Report:
    """Refusals by reason: what to change in the offer, and whom to call back when it changes."""
    found = session.execute(
        select(Attempt.refusal_reason, func.count()).where(
            Attempt.campaign_id == campaign.id, Attempt.refusal_reason.is_not(None))
        .group_by(Attempt.refusal_reason)).all()
    counts = [(str(code), int(n)) for code, n in found]
    catalogue = campaign.catalogue.get("refusal_reasons", {})
    labels = {code: code_label(catalogue, code) for code, _ in counts}
    return _table(f"Refusals by reason: {campaign.name}", counts, labels, sum(n for _, n in counts))


def dispositions_report(session: Session, campaign: Campaign) -> Report:
    """Attempts by final code: the agent's disposition, else the network outcome (busy, no answer, machine...)."""
    code = func.coalesce(Attempt.disposition, Attempt.outcome)
    counts = [(str(c), int(n)) for c, n in session.execute(
        select(code, func.count()).where(Attempt.campaign_id == campaign.id).group_by(code)).all()]
    labels = {**OUTCOME_LABELS, **campaign.catalogue.get("outcomes", {})}
    return _table(f"Attempts by disposition: {campaign.name}", counts, labels, sum(n for _, n in counts))


def _on_dnc(campaign: Campaign) -> Any:
    """True where the lead's number is on any of the company's DNC lists (its own or an imported registry)."""
    return select(DncEntry.id).where(DncEntry.company == campaign.company,
                                     DncEntry.phone_e164 == Lead.phone_e164).exists()


def _shown_status(campaign: Campaign) -> Any:
    """The status a manager should see: an open lead on a DNC list is ``dnc``, since the claim will close it."""
    return case((and_(Lead.status.in_(QUEUES), _on_dnc(campaign)), LeadStatus.DNC), else_=Lead.status)


def penetration_report(session: Session, campaign: Campaign) -> Report:
    """How far into the list the campaign has got: leads by state, each as a share of all leads.

    "Reached a person" counts leads with an attempt whose outcome is
    ``human`` (an answering machine, even one AMD missed, is nobody).
    Leads whose number is on a DNC list count as ``dnc`` even before a claim
    has come to them; "on a DNC list" counts every such lead, dialled or not.
    """
    mine = Lead.campaign_id == campaign.id
    total = session.scalar(select(func.count()).where(mine)) or 0
    attempted = session.scalar(select(func.count()).where(mine, Lead.attempts > 0)) or 0
    listed = session.scalar(
        select(func.count()).where(mine, or_(Lead.status == LeadStatus.DNC, _on_dnc(campaign)))) or 0
    reached = session.scalar(select(func.count(func.distinct(Attempt.lead_id))).where(  # a machine is nobody
        Attempt.campaign_id == campaign.id, Attempt.outcome == Outcome.HUMAN)) or 0
    status = _shown_status(campaign)
    counted = session.execute(select(status, func.count()).where(mine).group_by(status)).all()
    by_status: dict[LeadStatus, int] = dict(counted)
    rows = [("attempted", "Dialled at least once", attempted), ("reached", "Reached a person", reached),
            ("untouched", "Not yet dialled", total - attempted), ("dnc_listed", "Number on a DNC list", listed),
            *((f"status:{s}", STATUS_LABELS[s], int(n)) for s, n in sorted(by_status.items()))]
    return Report(f"List penetration: {campaign.name}",
                  [(code, label, n, n / total if total else 0.0) for code, label, n in rows], total,
                  groups={"": "List progress", "status": "Leads by status now"})


REPORTS = {"refusals": refusals_report, "dispositions": dispositions_report, "penetration": penetration_report}

EXPORT_COLUMNS = ("phone_e164", "name", "timezone", "status", "attempts", "last_disposition", "refusal_reason", "dnc")


def _dnc_sources(session: Session, campaign: Campaign, phones: list[str]) -> dict[str, str]:
    """Number → the DNC lists it is on ("internal" is the company's own), comma-separated."""
    found: dict[str, set[str]] = {}
    for phone, source in session.execute(select(DncEntry.phone_e164, DncEntry.source).where(
            DncEntry.company == campaign.company, DncEntry.phone_e164.in_(phones))):
        found.setdefault(phone, set()).add(source)
    return {phone: ",".join(sorted(sources)) for phone, sources in found.items()}


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
            sources = _dnc_sources(session, campaign, [lead.phone_e164 for lead in leads])
            writer.writerows(_export_row(lead, sources.get(lead.phone_e164, ""), mask) for lead in leads)
            count += len(leads)
    return count


def _export_row(lead: Lead, dnc: str, mask: bool) -> tuple[Any, ...]:
    phone, name = (mask_number(lead.phone_e164), "") if mask else (lead.phone_e164, lead.name or "")
    status = LeadStatus.DNC if dnc and lead.status in QUEUES else lead.status
    return (phone, name, lead.zones, status, lead.attempts, lead.last_disposition or "", lead.refusal_reason or "",
            dnc)
