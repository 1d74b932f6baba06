"""Campaign reports for managers, from the attempt ledger and the leads, and the lead export.

Each report is a small table (``Report``) that the CLI prints, writes as CSV
or JSON, or hands to ``simulation.plots.plot_bars``. Refusals and
dispositions count attempts (every refusal is kept, even a lead's earlier
ones); penetration counts leads.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lists.models import Attempt, Campaign, Lead
from lists.numbers import mask_number

__all__ = ["Report", "refusals_report", "dispositions_report", "penetration_report", "export_leads", "REPORTS"]


@dataclass
class Report:
    """A titled table. ``rows`` hold (code, label, count, share), share as a fraction of ``total``."""

    title: str
    rows: list[tuple[str, str, int, float]]
    total: int

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


def _table(title: str, counts: list[tuple[str, int]], labels: dict[str, str], total: int) -> Report:
    rows = [(code, labels.get(code, code), count, count / total if total else 0.0)
            for code, count in sorted(counts, key=lambda item: (-item[1], item[0]))]
    return Report(title, rows, total)


def refusals_report(session: Session, campaign: Campaign) -> Report:
    """Refusals by reason: what to change in the offer, and whom to call back when it changes."""
    counts = session.execute(
        select(Attempt.refusal_reason, func.count()).where(
            Attempt.campaign_id == campaign.id, Attempt.refusal_reason.is_not(None))
        .group_by(Attempt.refusal_reason)).all()
    counts = [(str(code), int(n)) for code, n in counts]
    return _table(f"Refusals by reason: {campaign.name}", counts, campaign.catalogue.get("refusal_reasons", {}),
                  sum(n for _, n in counts))


def dispositions_report(session: Session, campaign: Campaign) -> Report:
    """Attempts by final code: the agent's disposition, else the network outcome (busy, no answer, machine...)."""
    code = func.coalesce(Attempt.disposition, Attempt.outcome)
    counts = [(str(c), int(n)) for c, n in session.execute(
        select(code, func.count()).where(Attempt.campaign_id == campaign.id).group_by(code)).all()]
    return _table(f"Attempts by disposition: {campaign.name}", counts, campaign.catalogue.get("outcomes", {}),
                  sum(n for _, n in counts))


def penetration_report(session: Session, campaign: Campaign) -> Report:
    """How far into the list the campaign has got: leads by state, each as a share of all leads."""
    total = session.scalar(select(func.count()).where(Lead.campaign_id == campaign.id)) or 0
    attempted = session.scalar(select(func.count()).where(Lead.campaign_id == campaign.id, Lead.attempts > 0)) or 0
    reached = session.scalar(select(func.count(func.distinct(Attempt.lead_id))).where(
        Attempt.campaign_id == campaign.id, Attempt.answered_at.is_not(None), Attempt.amd_result.is_distinct_from(
            "machine"))) or 0
    by_status = dict(session.execute(select(Lead.status, func.count()).where(Lead.campaign_id == campaign.id)
                                     .group_by(Lead.status)).all())
    rows = [("attempted", "Dialled at least once", attempted), ("reached", "Reached a person", reached),
            ("untouched", "Not yet dialled", total - attempted),
            *((f"status:{s}", f"Now {s}", int(n)) for s, n in sorted(by_status.items()))]
    return Report(f"List penetration: {campaign.name}",
                  [(code, label, n, n / total if total else 0.0) for code, label, n in rows], total)


REPORTS = {"refusals": refusals_report, "dispositions": dispositions_report, "penetration": penetration_report}

EXPORT_COLUMNS = ("phone_e164", "name", "timezone", "status", "attempts", "last_disposition", "refusal_reason")


def export_leads(session: Session, campaign: Campaign, path: Path, mask: bool = False) -> int:
    """Write the campaign's leads as CSV; ``mask`` hides the middle digits and the name. Returns the row count."""
    query = select(Lead).where(Lead.campaign_id == campaign.id).order_by(Lead.id).execution_options(yield_per=5000)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for lead in session.scalars(query):
            phone, name = (mask_number(lead.phone_e164), "") if mask else (lead.phone_e164, lead.name or "")
            writer.writerow((phone, name, lead.zones, lead.status, lead.attempts, lead.last_disposition or "",
                             lead.refusal_reason or ""))
            count += 1
    return count
