"""The README's main command runs as written (with its report sent to a temporary folder)."""

import os
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_main_job_command_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"python3 -m pip install -e \. && (dialer .+)", readme).group(1)
    args = shlex.split(command)[1:]
    args[args.index("--report") + 1] = str(tmp_path / "report")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "index.html").exists()
