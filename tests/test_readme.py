"""The README's two commands run as written: the demo (shortened, in a temporary folder) and the simulation
(with its report sent to a temporary folder)."""

import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the demo's shift and the full simulated day, as a user runs them


def _commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [shlex.split(c)[1:] for c in re.findall(r"python3 -m pip install -e \. && (dialer .+)", readme)]


def _invoke(args: list[str]):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(main, args)
    finally:
        os.chdir(cwd)


def test_the_demo_is_the_first_command_and_runs(tmp_path):
    args = _commands()[0]
    assert args == ["demo"]
    result = _invoke([*args, "--dir", str(tmp_path / "demo"), "--minutes", "10", "--speed", "120"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "report" / "index.html").exists()


def test_main_job_command_runs(tmp_path):
    """The simulation compares predictive, power and progressive on the loan-offer day (one replication each
    here, to keep the run short); the table and the report carry all three."""
    args = next(a for a in _commands() if a[0] == "simulate")
    assert "policy=predictive,power,progressive" in args
    args[args.index("--report") + 1] = str(tmp_path / "report")
    args[args.index("--replications") + 1] = "1"
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    assert all(policy in result.output for policy in ("predictive", "power", "progressive"))
    assert (tmp_path / "report" / "index.html").exists()
