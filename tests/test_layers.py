"""The layers hold: the engine's core loads no store, no scipy and nothing above it, and the import contract
(``[tool.importlinter]`` in pyproject.toml) is kept.

Why a test as well as the CI gate: the core's promise (an I/O-free engine the
simulator and the daemon both drive) is broken by one careless import, and
this names the module that broke it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FORBIDDEN = ("sqlalchemy", "scipy", "lists", "dialer.service", "dialer.api", "simulation")


def test_importing_the_engine_loads_no_store_no_scipy_and_nothing_above_the_core():
    code = "import sys, json; import dialer.core.engine; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)
    offenders = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in _FORBIDDEN)]
    assert not offenders, f"import dialer.core.engine loaded {offenders}"


def test_the_import_contract_is_kept():
    lint = shutil.which("lint-imports")
    assert lint is not None, "lint-imports (import-linter, a test dependency) is not installed"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
