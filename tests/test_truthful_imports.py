"""Imports say what they did with every line: a quote left open is reported at the line that opened it and the
rows after it still import; cells past the header reject their row; a registry's country reads its national
numbers and its header is no rejected number; leads whose time zone is uncertain are counted, and those the
campaign's window never opens for are set aside, not rescheduled day after day."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from lists.campaigns import create_campaign
from lists.importer import UNBALANCED, import_csv
from lists.models import Lead


def _campaign(store, name: str = "Loans", profile: str = "fr"):
    with store() as s:
        campaign = create_campaign(s, name, "loan-offer", rules_profile=profile)
        s.commit()
        return campaign


def _rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def _import(store, campaign, path: Path, text: str, **options):
    path.write_text(text, encoding="utf-8")
    with store() as s:
        summary = import_csv(s, campaign, path, **options)
        phones = set(s.scalars(select(Lead.phone_e164).where(Lead.campaign_id == campaign.id)))
    return summary, phones


def test_an_unbalanced_quote_is_reported_at_its_line_and_the_rows_after_it_import(store, tmp_path: Path):
    text = ('name,phone,note\n'
            '"Anne,+33612345680,first\n'  # line 2: the quote never closes
            'Bob,+33612345681,second\n'
            'Carl,+33612345682,"a note\non two lines"\n'  # lines 4-5: a cell with a line break, as CSV allows
            'Dora,+33612345683,"open\n'  # line 6: closed by a stray quote on line 7, a row taken in
            'Emil,+33612345684,x"y\n'
            'Fred,+33612345685,last "\n'
            'Gina,+33612345686,"to the end\n')  # line 9: open at the end of the file
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", text)
    assert phones == {"+33612345681", "+33612345682", "+33612345684", "+33612345685"}
    assert (summary.rows, summary.imported, summary.rejected) == (7, 4, 3)
    assert _rejects(summary.rejects_path) == [
        ["2", UNBALANCED, '"Anne,+33612345680,first'],
        ["6", UNBALANCED, 'Dora,+33612345683,"open'],
        ["9", UNBALANCED, 'Gina,+33612345686,"to the end'],
    ]
    assert "missing field" not in summary.rejects_path.read_text(encoding="utf-8")


def test_a_quote_left_open_takes_in_no_more_than_twenty_lines(store, tmp_path: Path):
    rows = "".join(f"P{i},+336123450{i:02d}\n" for i in range(40))
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", 'name,phone\n"Open,+33612349999\n' + rows)
    assert len(phones) == 40 and summary.rejected == 1
    assert _rejects(summary.rejects_path)[0][:2] == ["2", UNBALANCED]


def test_cells_past_the_header_reject_their_row_with_its_line(store, tmp_path: Path):
    text = ("name,phone\n"
            "Anne,+33612345680\n"
            "Dupont, Bob,+33612345681\n"  # a stray delimiter: three cells under two columns
            "Carl,+33612345682,,\n"  # empty cells past the end, as spreadsheets write them: nothing to lose
            "Dora,+33612345683,x,y,z\n")
    summary, phones = _import(store, _campaign(store), tmp_path / "leads.csv", text)
    assert phones == {"+33612345680", "+33612345682"}
    assert _rejects(summary.rejects_path) == [
        ["3", "1 cell more than the header's 2 columns (a stray delimiter, or a column with no name)",
         "Dupont", " Bob", "+33612345681"],
        ["5", "3 cells more than the header's 2 columns (a stray delimiter, or a column with no name)",
         "Dora", "+33612345683", "x", "y", "z"],
    ]
