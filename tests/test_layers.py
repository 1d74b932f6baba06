"""The layers hold: the engine's core loads no store, no scipy and nothing above it, and the import contract
(``[tool.importlinter]`` in pyproject.toml) is kept.

Why a test as well as the CI gate: the core's promise (an I/O-free engine the
simulator and the daemon both drive) is broken by one careless import, and
this names the module that broke it. Why a fresh interpreter: in the test
process every layer is already imported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_FORBIDDEN = ("sqlalchemy", "scipy", "lists", "dialer.service", "dialer.api", "simulation")
pytestmark = pytest.mark.daemon  # each test runs a fresh process from the checkout's root


def _env() -> dict[str, str]:
    """This checkout first on the path, whatever an editable install points at."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def test_importing_the_engine_loads_no_store_no_scipy_and_nothing_above_the_core():
    code = "import sys, json; import dialer.core.engine; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True,
                                       text=True, check=True, timeout=120).stdout)
    assert "dialer.core.engine" in loaded, "the probe did not import the engine"
    offenders = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in _FORBIDDEN)]
    assert not offenders, f"import dialer.core.engine loaded {offenders}"


def _lint_imports() -> str:
    """import-linter's command beside this interpreter (the test extra installs it), else on the PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports (import-linter, a test dependency) is not installed: pip install -e '.[test]'"
    return found


def test_the_import_contract_is_kept():
    """From the checkout's root, without import-linter's cache (it would write into the checkout)."""
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", done.stdout), done.stdout[-2000:]
