"""The command line: reference keys in JSON, one-line errors with exit code 2, staffing outputs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_erlang_c_json_uses_reference_keys(erlang_reference):
    case = next(c for c in erlang_reference["cases"] if c["id"] == "C1")
    result = run("erlang", "c", "--agents", "10", "--erlangs", "8", "--aht", "180", "--target", "20", "--json")
    assert result.exit_code == 0
    got = json.loads(result.output)
    for key, value in case["outputs"].items():
        assert got[key] == pytest.approx(value, rel=1e-9)


def test_calls_per_hour_is_converted_to_erlangs():
    by_rate = json.loads(run("erlang", "a", "--agents", "20", "--calls-per-hour", "360", "--aht", "180",
                             "--patience", "60", "--json").output)
    assert by_rate["p_abandon"] == pytest.approx(0.06928513474, rel=1e-9)


@pytest.mark.parametrize("args, named", [
    (["erlang", "c", "--agents", "0", "--erlangs", "5", "--aht", "180"], "--agents"),
    (["erlang", "c", "--agents", "5", "--erlangs", "-1", "--aht", "180"], "--erlangs"),
    (["erlang", "c", "--agents", "5", "--erlangs", "nan", "--aht", "180"], "--erlangs"),
    (["erlang", "a", "--agents", "5", "--erlangs", "3", "--aht", "0", "--patience", "5"], "--aht"),
    (["erlang", "c", "--agents", "five", "--erlangs", "3", "--aht", "180"], "--agents"),
    (["erlang", "d", "--agents", "5", "--erlangs", "3", "--aht", "180"], "--patience"),
])
def test_bad_input_is_one_line_and_exit_2(args, named):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in result.output


def test_malformed_forecast_row_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "f.csv"
    bad.write_text("interval_start,calls,aht_s\n08:00,10,180\n08:30,lots,180\n")
    result = run("staffing", str(bad))
    assert result.exit_code == 2
    assert "line 3" in result.output and len(result.output.strip().splitlines()) == 1


def test_staffing_writes_csv_json_and_png(tmp_path):
    out_csv, out_json, out_png = tmp_path / "s.csv", tmp_path / "s.json", tmp_path / "s.png"
    result = run("staffing", str(ROOT / "examples" / "forecast.csv"), "--shrinkage", "0.3",
                 "--csv", str(out_csv), "--json", str(out_json), "--plot", str(out_png))
    assert result.exit_code == 0, result.output
    assert "total:" in result.output
    data = json.loads(out_json.read_text())
    assert len(data["rows"]) == 24 and data["totals"]["peak_scheduled"] >= max(r["agents"] for r in data["rows"])
    assert out_csv.read_text().startswith("interval_start,")
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.daemon
def test_the_installed_console_script_runs_the_readme_main_job():
    done = subprocess.run([sys.executable, "-m", "cli", "staffing", str(ROOT / "examples" / "forecast.csv")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "total:" in done.stdout
