import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def erlang_reference() -> dict:
    """Published values from shared/reference/erlang.json (copied so a clean clone carries them)."""
    return json.loads((DATA / "erlang_reference.json").read_text())
