"""The layers hold (README, Architecture): the engine loads nothing of the store, the statistics or the layers
above it, and import-linter's contracts in pyproject.toml are kept.

Why a fresh interpreter: in the test process every layer is already imported, so only a new one shows what
``import dialer.core.engine`` pulls in by itself. The simulator runs the engine in its inner loop, and an engine
that dragged in SQLAlchemy or the daemon would tie every layer above to one another.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("sqlalchemy", "scipy", "lists", "dialer.service", "dialer.api")
PROBE = "import sys\nimport dialer.core.engine\nprint('\\n'.join(sorted(sys.modules)))"
pytestmark = pytest.mark.daemon  # each test runs a fresh process from the checkout's root


def _env() -> dict[str, str]:
    """This checkout first on the path, whatever an editable install points at."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _offending(module: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in FORBIDDEN)


def test_the_engine_loads_no_store_no_scipy_and_no_layer_above_it():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "dialer.core.engine" in loaded, "the probe did not import the engine"
    offenders = [m for m in loaded if _offending(m)]
    assert not offenders, f"import dialer.core.engine loaded {offenders}"


def _lint_imports() -> str:
    """import-linter's command beside this interpreter (the test extra installs it), else on the PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found: it is a test dependency (pip install -e '.[test]')"
    return found


def test_the_import_contracts_are_kept():
    """``lint-imports`` from the checkout's root, without its cache (it would write into the checkout)."""
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", done.stdout), done.stdout[-2000:]
