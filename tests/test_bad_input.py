"""Issue 19: every bad input is one line naming it, exit code 2, and a store left exactly as it was.

Each class of bad input goes to every command that reads it, through the
real command. The store is compared row for row before and after, and the
work a bad output path would waste (a simulation, a calibration) must not
even start.
"""

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cli import main
from lists.store import open_engine

ROOT = Path(__file__).resolve().parents[1]
SURVEY = ROOT / "examples" / "scenarios" / "survey.toml"
FORECAST = ROOT / "examples" / "forecast.csv"
TABLES = ("campaign", "lead", "attempt", "dnc_entry", "dnc_registry")
LEADS = "name,phone\nAnna,+33 1 42 68 53 00\nBob,+33 1 42 68 53 01\nCleo,+33 1 42 68 53 02\n"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def run(url: str, *args: str):
    """A store command: ``--database-url`` goes after the two command words."""
    return invoke(*args[:2], "--database-url", url, *args[2:])


def one_line_error(result, named: str) -> str:
    """The result is exit 2 with a single ``error:`` line that names the input; returns that line."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]
    return lines[0]


def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, so any change shows."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return {t: sorted(repr(tuple(r)) for r in connection.execute(text(f"SELECT * FROM {t}"))) for t in TABLES}
    finally:
        engine.dispose()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    found = {
        "leads": tmp_path / "leads.csv", "binary": tmp_path / "binary.csv", "cp1251": tmp_path / "cp1251.csv",
        "nul": tmp_path / "nul.csv", "empty": tmp_path / "empty.txt", "header": tmp_path / "header.txt",
        "registry": tmp_path / "registry.txt", "tabs": tmp_path / "tabs.csv",
        "no_folder": tmp_path / "missing" / "out.csv", "folder": tmp_path,
    }
    found["leads"].write_text(LEADS, encoding="utf-8")
    found["binary"].write_bytes(bytes(range(256)) * 4)
    found["cp1251"].write_bytes("name,phone\nАнна,+74951234567\n".encode("cp1251"))
    found["nul"].write_bytes(b"name,phone\nAnna,+33142685300\x00\n")
    found["empty"].write_text("", encoding="utf-8")
    found["header"].write_text("phone\n", encoding="utf-8")
    found["registry"].write_text("+33142685301\n+33142685399\n", encoding="utf-8")
    found["tabs"].write_text("name\tphone\nDora\t+33 1 42 68 53 09\n", encoding="utf-8")
    return found


@pytest.fixture
def loans(store_url: str, files: dict[str, Path]) -> str:
    """A store with one campaign, three leads, a registry copy and a number on the company's own list."""
    assert run(store_url, "campaign", "create", "Loans", "--kind", "loan-offer", "--rules-profile", "fr", "--countries",
               "FR,NL,RU", "--dial-mode", "preview").exit_code == 0  # Russia: marketing only in preview
    assert run(store_url, "lists", "import", str(files["leads"]), "--campaign", "Loans").exit_code == 0
    assert run(store_url, "dnc", "import", str(files["registry"]), "--registry", "bloctel").exit_code == 0
    assert run(store_url, "dnc", "add", "+33142685302").exit_code == 0
    return store_url


# ---- store URLs -----------------------------------------------------------------------------------------------

STORE_COMMANDS = [
    ["campaign", "list"], ["campaign", "show", "Loans"], ["campaign", "create", "New", "--kind", "survey"],
    ["campaign", "edit", "Loans", "--dial-mode", "power"],
    ["campaign", "retarget", "--from", "Loans", "--reason", "too_expensive", "--name", "Again"],
    ["lists", "export", "--campaign", "Loans"], ["dnc", "add", "+33142685300"], ["dnc", "remove", "+33142685300"],
    ["dnc", "list"], ["dnc", "status"], ["report", "refusals", "--campaign", "Loans"],
    ["simulate", "calibrate", "--campaign", "Loans", "--out", "fitted.toml"],
]
BAD_URLS = {
    "sqlite in a missing folder": ("sqlite:///{tmp}/no/such/folder/dialer.db", "folder"),
    "postgresql refusing": ("postgresql://x:secret@127.0.0.1:1/db", "Connection refused"),
    "driver not installed": ("mysql://x:secret@localhost/db", "not installed"),
    "not a URL": ("dialer.db", "not a store URL"),
    "unknown kind of database": ("oracle9://x@y/z", "unknown kind of database"),
}


@pytest.mark.parametrize("case", list(BAD_URLS))
@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_a_bad_store_url_is_one_line_naming_it(case, command, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url, says = BAD_URLS[case]
    url = url.format(tmp=tmp_path)
    line = one_line_error(run(url, *command), "store ")
    assert says in line and "secret" not in line  # the password never reaches a terminal or a ticket
    assert list(tmp_path.iterdir()) == []  # nothing created: no store, no export, no scenario


def test_the_url_also_comes_from_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DIALER_DATABASE_URL", "postgresql://x:secret@127.0.0.1:1/db")
    assert "Connection refused" in one_line_error(invoke("dnc", "status"), "store postgresql://x:***@127.0.0.1:1/db")


READ_CAMPAIGNS = [c for c in STORE_COMMANDS if c[0] in ("campaign", "lists", "report", "simulate")
                  and c[:2] != ["campaign", "create"]] + [["lists", "import", "{leads}", "--campaign", "Loans"]]


@pytest.mark.parametrize("command", READ_CAMPAIGNS, ids=" ".join)
def test_a_mistyped_sqlite_path_is_not_made_into_a_new_empty_store(command, tmp_path: Path, files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "dialler.db"
    command = [arg.format(leads=files["leads"]) for arg in command]
    assert "no store at this path" in one_line_error(run(f"sqlite:///{typo}", *command), str(typo))
    assert not typo.exists() and not (tmp_path / "fitted.toml").exists() and not (tmp_path / "Loans.csv").exists()


@pytest.mark.parametrize("command", READ_CAMPAIGNS, ids=" ".join)
def test_commands_that_read_campaigns_say_the_store_has_none(command, store_url, files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(store_url, "dnc", "status").exit_code == 0  # a dnc command works on an empty store, and makes it
    before = snapshot(store_url)
    command = [arg.format(leads=files["leads"]) for arg in command]
    assert "has no campaigns" in one_line_error(run(store_url, *command), "store ")
    assert snapshot(store_url) == before
    created = run(store_url, "campaign", "create", "First", "--kind", "survey")  # the way out still works
    assert created.exit_code == 0 and run(store_url, "campaign", "list").exit_code == 0


# ---- files ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["binary", "nul", "cp1251"])
@pytest.mark.parametrize("command, named", [
    (["lists", "import", "{file}", "--campaign", "Loans"], "FILE"),
    (["dnc", "import", "{file}", "--registry", "bloctel"], "FILE"),
])
def test_a_file_that_is_not_utf8_text_changes_nothing(kind, command, named, loans, files):
    before = snapshot(loans)
    line = one_line_error(run(loans, *[arg.format(file=files[kind]) for arg in command]), named)
    assert files[kind].name in line and "line" in line
    assert snapshot(loans) == before
    assert not files[kind].with_name(files[kind].name + ".rejects.csv").exists()


def test_a_leads_file_in_another_encoding_points_at_encoding(loans, files):
    line = one_line_error(run(loans, "lists", "import", str(files["cp1251"]), "--campaign", "Loans"), "FILE")
    assert "--encoding" in line and "line 2" in line
    done = run(loans, "lists", "import", str(files["cp1251"]), "--campaign", "Loans", "--encoding", "cp1251")
    assert done.exit_code == 0 and "1 imported" in done.output
    assert "unknown encoding" in one_line_error(
        run(loans, "lists", "import", str(files["leads"]), "--campaign", "Loans", "--encoding", "klingon"),
        "--encoding")


@pytest.mark.parametrize("kind", ["binary", "nul", "cp1251"])
@pytest.mark.parametrize("command, named", [
    (["staffing", "{file}"], "FORECAST"),
    (["simulate", "{file}"], "SCENARIO"),
    (["simulate", "run", "{file}"], "SCENARIO"),
    (["simulate", "plan", "{file}"], "SCENARIO"),
])
def test_a_forecast_or_scenario_that_is_not_utf8_text_is_one_line(kind, command, named, files):
    line = one_line_error(invoke(*[arg.format(file=files[kind]) for arg in command]), named)
    assert files[kind].name in line


@pytest.mark.parametrize("kind", ["empty", "header"])
def test_dnc_import_of_a_file_without_numbers_keeps_the_old_copy(kind, loans, files):
    before = snapshot(loans)
    line = one_line_error(run(loans, "dnc", "import", str(files[kind]), "--registry", "bloctel"), "FILE")
    assert "left as it was" in line
    assert snapshot(loans) == before
    fresh = one_line_error(run(loans, "dnc", "import", str(files[kind]), "--registry", "new-registry"), "FILE")
    assert "new-registry" in fresh and snapshot(loans) == before


# ---- output paths: refused before the work starts -------------------------------------------------------------

def _never(*_args, **_kwargs):
    raise AssertionError("the work started before the output path was checked")


@pytest.fixture
def no_work(monkeypatch):
    """Simulating, planning, calibrating and exporting fail the test if they start."""
    import lists.reports
    import simulation.calibrate
    import simulation.experiments

    for module, name in ((simulation.experiments, "sweep"), (simulation.experiments, "plan_agents"),
                         (simulation.calibrate, "calibrate"), (lists.reports, "export_leads")):
        monkeypatch.setattr(module, name, _never)


@pytest.mark.parametrize("where", ["no_folder", "folder"])
@pytest.mark.parametrize("command, named", [
    (["lists", "export", "--campaign", "Loans", "--out", "{out}"], "--out"),
    (["report", "refusals", "--campaign", "Loans", "--csv", "{out}"], "--csv"),
    (["report", "dispositions", "--campaign", "Loans", "--json", "{out}"], "--json"),
    (["report", "penetration", "--campaign", "Loans", "--plot", "{out}"], "--plot"),
    (["simulate", "calibrate", "--campaign", "Loans", "--out", "{out}"], "--out"),
])
def test_store_outputs_in_a_missing_folder_are_refused_first(where, command, named, loans, files, no_work):
    before = snapshot(loans)
    line = one_line_error(run(loans, *[arg.format(out=files[where]) for arg in command]), named)
    assert any(says in line for says in (("does not exist",) if where == "no_folder" else ("folder", "directory")))
    assert snapshot(loans) == before


def test_the_default_export_file_is_checked_too(loans, tmp_path: Path, monkeypatch, no_work):
    assert run(loans, "campaign", "create", "EU/FR", "--kind", "survey").exit_code == 0
    monkeypatch.chdir(tmp_path)
    assert "folder EU does not exist" in one_line_error(run(loans, "lists", "export", "--campaign", "EU/FR"), "--out")


@pytest.mark.parametrize("command, named", [
    (["staffing", str(FORECAST), "--csv", "{out}"], "--csv"),
    (["staffing", str(FORECAST), "--json", "{out}"], "--json"),
    (["staffing", str(FORECAST), "--plot", "{out}"], "--plot"),
    (["simulate", str(SURVEY), "--csv", "{out}"], "--csv"),
    (["simulate", str(SURVEY), "--trace", "{out}"], "--trace"),
    (["simulate", "run", str(SURVEY), "--csv", "{out}"], "--csv"),
])
def test_file_outputs_in_a_missing_folder_are_refused_first(command, named, files, no_work):
    one_line_error(invoke(*[arg.format(out=files["no_folder"]) for arg in command]), named)


def test_a_report_folder_may_be_new_but_not_a_file(files, no_work):
    line = one_line_error(invoke("simulate", str(SURVEY), "--report", str(files["leads"])), "--report")
    assert "is a file" in line


# ---- options ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, named, says", [
    (["--delimiter", ";;"], "--delimiter", "one character"),
    (["--delimiter", '"'], "--delimiter", "cannot separate"),
    (["--default-region", "XX"], "--default-region", "not an ISO 3166"),
    (["--default-region", "UK"], "--default-region", "GB"),
    (["--workers", "0"], "--workers", "x>=1"),
    (["--map", "phone"], "--map", "KEY=VALUE"),
])
def test_bad_import_options_are_refused_before_any_row(args, named, says, loans, files):
    before = snapshot(loans)
    line = one_line_error(run(loans, "lists", "import", str(files["tabs"]), "--campaign", "Loans", *args), named)
    assert says in line
    assert snapshot(loans) == before
    assert not files["tabs"].with_name("tabs.csv.rejects.csv").exists()  # not one rejected row per line


def test_a_typed_backslash_t_is_a_tab(loans, files):
    done = run(loans, "lists", "import", str(files["tabs"]), "--campaign", "Loans", "--delimiter", "\\t")
    assert done.exit_code == 0 and "1 imported" in done.output, done.output


@pytest.mark.parametrize("command", [["dnc", "import", "{registry}", "--registry", "r2"], ["dnc", "add", "0142685300"],
                                     ["dnc", "remove", "0142685302"]], ids=" ".join)
def test_a_region_that_is_not_one_is_refused_by_dnc_commands(command, loans, files):
    before = snapshot(loans)
    args = [arg.format(registry=files["registry"]) for arg in command]
    one_line_error(run(loans, *args, "--default-region", "Frankreich"), "--default-region")
    assert snapshot(loans) == before


def test_an_unknown_time_zone_is_refused_before_calibrating(loans, tmp_path: Path, no_work):
    out = tmp_path / "fitted.toml"
    line = one_line_error(run(loans, "simulate", "calibrate", "--campaign", "Loans", "--out", str(out),
                              "--timezone", "Mars/Olympus"), "--timezone")
    assert "Mars/Olympus" in line and not out.exists()


# ---- values that used to be accepted ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, named", [
    (["campaign", "create", "", "--kind", "survey"], "NAME"),
    (["campaign", "create", "   ", "--kind", "survey"], "NAME"),
    (["campaign", "create", "Calls", "--kind", "survey", "--caller-id", "abc"], "--caller-id"),
    (["campaign", "create", "Calls", "--kind", "survey", "--caller-id", "12"], "--caller-id"),
    (["campaign", "edit", "Loans", "--caller-id", "not a number"], "--caller-id"),
    (["campaign", "edit", "Loans", "--remove-reason", "lottery"], "--remove-reason"),
    (["campaign", "edit", "Loans", "--add-reason", "too_expensive=Costs too much"], "--add-reason"),
    (["campaign", "edit", "Loans", "--add-reason", "too dear=Too dear"], "--add-reason"),
    (["campaign", "edit", "Loans", "--dial-mode", "power", "--remove-reason", "lottery"], "--remove-reason"),
    (["campaign", "retarget", "--from", "Loans", "--reason", "too_expensive", "--name", ""], "--name"),
])
def test_campaign_values_that_make_no_sense_are_refused(args, named, loans):
    before = snapshot(loans)
    one_line_error(run(loans, *args), named)
    assert snapshot(loans) == before


def test_a_caller_id_is_stored_in_e164_and_a_relabel_must_be_asked_for(loans):
    assert run(loans, "campaign", "edit", "Loans", "--caller-id", "01 42 68 53 99").exit_code == 0
    shown = run(loans, "campaign", "show", "Loans").output
    assert "+33142685399" in shown
    relabel = run(loans, "campaign", "edit", "Loans", "--remove-reason", "too_expensive",
                  "--add-reason", "too_expensive=Costs too much")
    assert relabel.exit_code == 0, relabel.output
    assert "too_expensive (Costs too much)" in run(loans, "campaign", "show", "Loans").output
    same = run(loans, "campaign", "edit", "Loans", "--add-reason", "too_expensive=Costs too much")
    assert same.exit_code == 0  # the same label again changes nothing, so it is no relabel


@pytest.mark.parametrize("args, named", [
    (["--cap", "1.5"], "--cap"), (["--cap", "0.05"], "--cap"), (["--cap", "-0.01"], "--cap"),
    (["--goal", "0"], "--goal"), (["--goal", "2"], "--goal"), (["--workers", "0"], "--workers"),
])
def test_plan_refuses_impossible_targets_before_the_run(args, named, no_work):
    one_line_error(invoke("simulate", "plan", str(SURVEY), *args), named)


def test_simulate_refuses_zero_workers_before_the_run(no_work):
    one_line_error(invoke("simulate", str(SURVEY), "--workers", "0"), "--workers")


# ---- errors name the argument the user typed -------------------------------------------------------------------

@pytest.mark.parametrize("args, named", [
    (["erlang", "c", "--agents", "5", "--erlangs", "3", "--aht", "180", "--target", "-1"], "--target"),
    (["staffing", str(FORECAST), "--target", "-1"], "--target"),
    (["staffing", str(FORECAST), "--max-asa", "-5"], "--max-asa"),
    (["staffing", str(FORECAST), "--service-level", "1.5"], "--service-level"),
    (["staffing", str(FORECAST), "--max-occupancy", "0"], "--max-occupancy"),
    (["staffing", str(FORECAST), "--max-abandon", "0.03"], "--max-abandon"),
])
def test_maths_errors_name_the_option_not_the_parameter(args, named):
    line = one_line_error(invoke(*args), named)
    assert "_s:" not in line and "target_s" not in line


@pytest.mark.parametrize("args, named", [
    (["campaign", "show", "Nope"], "NAME: no campaign called 'Nope'"),
    (["campaign", "edit", "Nope", "--dial-mode", "power"], "NAME: no campaign called 'Nope'"),
    (["campaign", "retarget", "--from", "Nope", "--reason", "x", "--name", "N"], "--from: no campaign"),
    (["lists", "export", "--campaign", "Nope"], "--campaign: no campaign"),
    (["report", "refusals", "--campaign", "Nope"], "--campaign: no campaign"),
    (["campaign", "create", "Loans", "--kind", "survey"], "NAME: a campaign called 'Loans' already exists"),
])
def test_campaign_errors_name_the_argument_typed(args, named, loans):
    one_line_error(run(loans, *args), named)


def test_calibration_keeps_the_name_of_an_argument_it_refuses(loans, tmp_path: Path, monkeypatch):
    import simulation.calibrate
    from pacing.errors import InvalidInput

    def refuse(*_args, **_kwargs):
        raise InvalidInput("success_code", "no attempt has disposition 'sold'")

    monkeypatch.setattr(simulation.calibrate, "calibrate", refuse)
    line = one_line_error(run(loans, "simulate", "calibrate", "--campaign", "Loans", "--out",
                              str(tmp_path / "f.toml")), "success_code")
    assert "--campaign" not in line
    no_attempts = run(loans, "simulate", "calibrate", "--campaign", "Loans", "--out", str(tmp_path / "g.toml"))
    monkeypatch.undo()
    assert "no attempts" in one_line_error(run(loans, "simulate", "calibrate", "--campaign", "Loans", "--out",
                                               str(tmp_path / "g.toml")), "--campaign")
    assert no_attempts.exit_code == 2


# ---- the missing pieces ----------------------------------------------------------------------------------------

def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("dialer ") and result.output.strip()[-1].isdigit()


def test_dnc_list_masks_by_default_and_status_shows_the_own_list(loans):
    listed = run(loans, "dnc", "list")
    assert listed.exit_code == 0 and "+331*****302" in listed.output and "+33142685302" not in listed.output
    assert "+33142685302" in run(loans, "dnc", "list", "--unmasked").output
    registry = run(loans, "dnc", "list", "--registry", "bloctel").output
    assert "+331*****301" in registry and "+331*****399" in registry and "302" not in registry
    status = run(loans, "dnc", "status")
    assert status.exit_code == 0 and "own list" in status.output and "1 numbers" in status.output
    assert "bloctel" in status.output


def test_dnc_remove_reopens_the_leads_it_closed_but_not_those_on_a_registry(loans):
    from lists.models import Lead
    from lists.store import open_store

    assert run(loans, "dnc", "add", "+33142685300").exit_code == 0
    removed = run(loans, "dnc", "remove", "01 42 68 53 00", "--default-region", "FR")
    assert removed.exit_code == 0 and "1 lead(s) reopened" in removed.output, removed.output
    factory = open_store(loans)
    with factory() as s:
        status = dict(s.query(Lead.phone_e164, Lead.status).all())
    factory.kw["bind"].dispose()
    assert status["+33142685300"] == "new" and status["+33142685302"] == "dnc"
    assert "+331*****300" not in run(loans, "dnc", "list").output
    before = snapshot(loans)
    assert "not on default's own DNC list" in one_line_error(run(loans, "dnc", "remove", "+33142685301"), "NUMBER")
    assert snapshot(loans) == before  # a registry number is not the company's to remove
    one_line_error(run(loans, "dnc", "remove", "hello"), "NUMBER")


def test_one_replication_says_it_has_no_interval():
    result = invoke("simulate", str(SURVEY), "--replications", "1", "--set", "list.size=300",
                    "--set", "day.end=12:00", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "n = 1, no interval" in result.output and "±" not in result.output


# ---- interrupted imports -----------------------------------------------------------------------------------------

def test_an_interrupted_import_says_what_it_kept_and_the_rerun_says_already_imported(loans, tmp_path, monkeypatch):
    from lists import importer

    big = tmp_path / "big.csv"
    big.write_text("phone\n" + "".join(f"+33 1 45 67 {i // 100:02d} {i % 100:02d}\n" for i in range(100))
                   + "+33 1 45 67 00 99\n", encoding="utf-8")  # the campaign calls France
    monkeypatch.setattr(importer, "BATCH", 10)
    real_check, calls = importer._Import.check, []

    def stop_at_the_fifth_chunk(self, *args):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_check(self, *args)

    monkeypatch.setattr(importer._Import, "check", stop_at_the_fifth_chunk)
    stopped = run(loans, "lists", "import", str(big), "--campaign", "Loans")
    lines = stopped.output.strip().splitlines()
    assert stopped.exit_code == 130 and len(lines) == 1 and "Traceback" not in stopped.output
    assert "interrupted" in lines[0] and "40 leads were committed" in lines[0]
    leads_now = [r for r in snapshot(loans)["lead"] if "+3314567" in r]
    assert len(leads_now) == 40
    monkeypatch.undo()
    again = run(loans, "lists", "import", str(big), "--campaign", "Loans")
    assert "101 rows: 60 imported, 0 rejected, 1 duplicates, 40 already imported" in again.output, again.output
    with big.with_name("big.csv.rejects.csv").open(encoding="utf-8") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert reasons.count("already imported") == 40 and reasons.count("duplicate") == 1


def _stopped(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether ``pid`` is stopped (state T), polled until it is; False once it has exited."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state in ("T", "Z", "X"):
            return state == "T"
        time.sleep(0.005)
    return False


@pytest.mark.daemon
@pytest.mark.slow
def test_ctrl_c_during_a_parallel_import_reports_what_was_committed(tmp_path: Path):
    """A real SIGINT to the whole process group, as a terminal sends it, while worker processes normalise numbers."""
    import contextlib
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    db = tmp_path / "dialer.db"
    url = f"sqlite:///{db}"
    assert run(url, "campaign", "create", "Big", "--kind", "survey").exit_code == 0
    big = tmp_path / "big.csv"
    big.write_text("phone\n" + "".join(f"+1 212 {300 + i // 10000:03d} {i % 10000:04d}\n" for i in range(400_000)),
                   encoding="utf-8")  # 7 MB: the import starts worker processes
    command = [sys.executable, "-m", "cli", "lists", "import", str(big), "--campaign", "Big", "--database-url", url]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)

    def stored() -> int:
        with sqlite3.connect(db, timeout=10) as connection:
            return connection.execute("SELECT count(*) FROM lead").fetchone()[0]

    deadline = time.monotonic() + 120
    while child.poll() is None and stored() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGSTOP)  # frozen, the import cannot finish between this look and the interrupt
    if not _stopped(child.pid) or stored() == 400_000:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGCONT)
        child.communicate(timeout=60)
        pytest.skip("the import had stored every lead before it could be interrupted")
    os.killpg(child.pid, signal.SIGINT)  # pending while frozen: every process of the group gets it on waking
    os.killpg(child.pid, signal.SIGCONT)
    out, err = child.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert child.returncode == 130, err
    assert len(lines) == 1 and "Traceback" not in err and "interrupted" in lines[0], err
    assert f"{stored()} leads were committed" in lines[0] and 0 < stored() < 400_000
    for _ in range(100):  # the workers and the fork server go with it
        try:
            os.killpg(child.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the interrupted import are still running")
