"""Start-up: one owner per store, and every start-up failure told in one line with exit 2.

The hold is tested in-process on both back ends (two holders of one store), and with real daemons: a second
``dialer serve`` on a running daemon's SQLite file must leave the first one's calls alone.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dialer.errors import StoreError
from lists.campaigns import create_campaign
from pacing.errors import InvalidInput
from tests.daemon_helpers import REPO, make_config, make_scenario, make_store, start_daemon


def _serve(config: Path, *extra: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "serve", "--config", str(config), *extra], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout_s)


def _one_line_failure(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_store_is_held_by_one_holder_at_a_time(store) -> None:
    from lists.store import hold_store

    first = hold_store(store, "dialer-1")
    with pytest.raises(StoreError, match="one daemon per store file|in use by another running daemon"):
        hold_store(store, "dialer-1")
    first.release()
    hold_store(store, "dialer-1").release()  # released: the next one gets it


def test_on_postgresql_daemons_with_their_own_names_share_a_store(store) -> None:
    from lists.store import hold_store

    if store.kw["bind"].dialect.name != "postgresql":
        pytest.skip("an SQLite file has one owner whatever its name")
    first, second = hold_store(store, "dialer-1"), hold_store(store, "dialer-2")
    first.release()
    second.release()


@pytest.mark.parametrize("name", ["Loans\x1b[2J", "Loans\x07", "Lo\u200bans"])
def test_control_characters_in_a_campaign_name_are_refused(store, name: str) -> None:
    with store() as session, pytest.raises(InvalidInput, match="control character"):
        create_campaign(session, name, "loan-offer", countries=["US"])


@pytest.mark.daemon
def test_a_second_daemon_on_a_running_daemons_store_file_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    url = make_store(tmp_path, leads=200)
    config = make_config(tmp_path, url, make_scenario(tmp_path), speed=30.0)
    first = start_daemon(config, tmp_path / "first.log")
    try:
        _one_line_failure(_serve(config), "one daemon per store file")
        assert first.get("/readyz")[0] == 200  # the first daemon carries on
        assert not any(e.get("event") == "recovery" for e in first.events())
    finally:
        assert first.stop() == 0
    db = Path(url.removeprefix("sqlite:///"))
    owner = db.with_name(db.name + ".owner")
    assert stat.S_IMODE(owner.stat().st_mode) == 0o600
    import sqlite3

    with sqlite3.connect(db) as connection:  # the refused daemon settled none of the first one's calls
        interrupted = connection.execute("SELECT count(*) FROM attempt WHERE outcome = 'interrupted'").fetchone()[0]
    assert interrupted == 0


@pytest.mark.daemon
def test_start_up_failures_are_one_line_with_exit_2(tmp_path: Path) -> None:
    url = make_store(tmp_path, leads=10)
    scenario = make_scenario(tmp_path)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = make_config(tmp_path, url, scenario, name="port.toml")
    config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
    try:
        _one_line_failure(_serve(config), f"http 127.0.0.1:{port}: cannot listen")
    finally:
        taken.close()
    typo = make_config(tmp_path, url.replace("dialer.db", "dailer.db"), scenario, name="typo.toml")
    _one_line_failure(_serve(typo), "no store at this path")
    assert not (tmp_path / "dailer.db").exists()


@pytest.mark.daemon
def test_a_store_that_takes_no_writes_is_refused_before_ready(tmp_path: Path) -> None:
    url = make_store(tmp_path, leads=10)
    db = url.removeprefix("sqlite:///")
    if os.geteuid() != 0 or subprocess.run(["chattr", "+i", db], capture_output=True).returncode:
        pytest.skip("needs root and chattr to make a file read-only for root")
    try:
        _one_line_failure(_serve(make_config(tmp_path, url, make_scenario(tmp_path))), "does not take writes")
    finally:
        subprocess.run(["chattr", "-i", db], check=True)


@pytest.mark.daemon
def test_serve_create_makes_a_missing_store_and_the_uploads_folder_is_removed_at_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    config = make_config(tmp_path, url, make_scenario(tmp_path))
    made = []
    with subprocess.Popen([sys.executable, "-m", "cli", "serve", "--config", str(config), "--create"], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "TMPDIR": str(temp)}) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if '"event": "ready"' in line:
                made = list(temp.iterdir())
                process.terminate()
        assert process.wait(timeout=60) == 0
    assert (tmp_path / "new.db").exists()
    assert [p.name for p in made if p.name.startswith("dialer-imports-")], "no uploads folder was made"
    assert list(temp.iterdir()) == [], "the daemon's uploads folder (raw numbers, names) outlived it"
