"""``dialer demo`` end to end: a short shift of the real daemon engine, checked against the store it leaves.

Run at 120x for 20 simulated minutes (about 10 s of daemon), then the
ledger is read with plain SQL: both campaigns dialled, every attempt has one
outcome, abandonment under the cap, the report and its plots written, the
list's broken rows in the rejects file with their line numbers, and no
phone number in anything printed.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from click.testing import CliRunner

import simulation
from cli import main
from simulation.demo import LEADS, SCENARIO, SURVEY_SCENARIO, DemoOptions, run_demo

OUTCOMES = {"human", "machine", "busy", "no_answer", "invalid", "abandoned", "failed", "interrupted"}
_E164 = re.compile(r"\+\d{7,}")
pytestmark = pytest.mark.slow  # the real daemon engine works a 20-minute shift at 120x


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    result = run_demo(DemoOptions(folder / "demo", speed=120.0, shift_s=20 * 60, live=False), out)
    return folder / "demo", result, out.getvalue()


def _rows(store: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(store)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_both_campaigns_dial_and_every_attempt_has_an_outcome(demo):
    folder, result, _ = demo
    assert result.exit_code == 0
    store = folder / "dialer.db"
    counts = dict(_rows(store, "SELECT c.name, count(a.id) FROM campaign c LEFT JOIN attempt a "
                               "ON a.campaign_id = c.id GROUP BY c.name"))
    assert counts.keys() == {"Loans", "Survey"} and all(n >= 20 for n in counts.values()), counts
    outcomes = {o for (o,) in _rows(store, "SELECT outcome FROM attempt")}
    assert outcomes <= OUTCOMES and None not in outcomes
    assert not _rows(store, "SELECT id FROM lead WHERE status = 'claimed' OR dial_started_at IS NOT NULL")


def test_abandonment_stays_under_the_cap(demo):
    folder, result, _ = demo
    for name, cap, live, abandoned in _rows(folder / "dialer.db", """
            SELECT c.name, c.abandon_cap, sum(a.outcome IN ('human', 'abandoned')), sum(a.outcome = 'abandoned')
            FROM campaign c JOIN attempt a ON a.campaign_id = c.id GROUP BY c.name"""):
        assert abandoned <= cap * live, (name, abandoned, live)
    assert {t.name: t.attempts for t in result.totals} == dict(_rows(
        folder / "dialer.db", "SELECT c.name, count(*) FROM campaign c JOIN attempt a ON a.campaign_id = c.id "
                              "GROUP BY c.name"))


def test_the_report_and_its_plots_exist(demo):
    folder, result, _ = demo
    assert result.report == folder / "report" / "index.html" and result.report.exists()
    page = result.report.read_text(encoding="utf-8")
    images = re.findall(r'src="([^"]+\.png)"', page)
    assert "series.png" in images and len(images) >= 7
    for image in images:
        assert (folder / "report" / image).stat().st_size > 1000, image


def test_the_rejects_file_names_the_broken_rows_by_line(demo):
    folder, result, _ = demo
    assert result.rejects == folder / "demo-leads.csv.rejects.csv"
    with result.rejects.open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    lines = LEADS.read_text(encoding="utf-8").splitlines()
    assert len(rejects) >= 6
    for row in rejects:
        source = next(csv.reader([lines[int(row["line"]) - 1]]))
        assert source[:2] == [row["name"], row["phone"]], row  # the line number points at the row itself
    assert {"missing field: phone", "duplicate"} <= {row["reason"] for row in rejects}


def test_nothing_printed_carries_a_number_or_a_name(demo):
    folder, _, printed = demo
    assert "attempts" in printed and "Loans" in printed and "Survey" in printed
    assert not _E164.search(printed), printed
    for phone, national in _rows(folder / "dialer.db", "SELECT phone_e164, substr(phone_e164, -8) FROM lead"):
        assert phone not in printed and national not in printed.replace(" ", ""), phone
    assert "Nobody Atall" not in printed and "Amelia" not in printed


def test_a_folder_with_campaigns_is_refused_in_one_line(demo):
    folder, _, _ = demo
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder), "--minutes", "1"])
    assert result.exit_code == 2
    assert "--fresh" in result.output and result.output.count("\n") == 1, result.output


def test_the_demo_data_is_found_through_the_package_not_the_checkout():
    """``dialer demo`` runs from an installed wheel in any folder: its list and scenarios resolve inside the
    ``simulation`` package's folder, wherever that is, and pyproject's package data carries each of them."""
    package = Path(simulation.__file__).resolve().parent
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["simulation"]
    for path in (LEADS, SCENARIO, SURVEY_SCENARIO):
        assert path.is_file() and path.resolve().is_relative_to(package), path
        assert any(fnmatch(path.resolve().relative_to(package).as_posix(), glob) for glob in shipped), path
