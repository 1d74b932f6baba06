#!/usr/bin/env python3
"""schemathesis against a real ``dialer serve``, every check, once with an admin's token and once with an agent's.

Why a real daemon rather than the ASGI app in-process: the spec, the body
limits, the error mapping and the store are those a CRM meets. The store is
the API tests' (``tests.api_helpers.start_api_daemon``: a campaign, leads,
a user of every role with a token). Each run has a time budget
(``BUDGET_S``): the examples and coverage phases run once, fuzzing and
stateful testing repeat until the budget is spent, so the step's wall time
is bounded whatever the machine.

Every check is on (``[checks] enabled``), but ``object_level_authorization``
runs only with two peers in a Web Fuzzing Commons auth file, which a
single token is not: who may reach whose campaign is the role-by-route
test's (``tests/test_api_authz.py``).

Exemptions are lines of ``schemathesis-exemptions.txt`` beside this file:
``METHOD PATH CHECK REASON``. Each disables that one check on that one
route (a ``[[operations]]`` table of the config this writes); a line naming
a route the spec no longer has, or an unknown check, fails the step.

Run from the checkout: ``PYTHONPATH=. python3 .ci/api_schemathesis.py [schemathesis run options, e.g. --seed N]``.
Exit 0 when both runs pass and the daemon then stops cleanly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import schemathesis.specs.openapi.checks  # noqa: F401  (registers the OpenAPI checks, so their names are known)
import tomli_w
from schemathesis.checks import CHECKS
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES

from tests.api_helpers import start_api_daemon

EXEMPTIONS = Path(__file__).with_name("schemathesis-exemptions.txt")
BUDGET_S = {"admin": 75, "agent": 45}  # per run; the daemon's start and stop add about 10 s
REQUEST_TIMEOUT_S = 10  # a request the daemon does not answer by then is a failure, not a stalled step
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


@dataclass(frozen=True)
class Exemption:
    """One check that does not apply to one route, and why."""

    method: str
    path: str
    check: str
    reason: str

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"


def read_exemptions(text: str) -> list[Exemption]:
    """The exemption lines (``#`` starts a comment); ValueError naming the line when one is malformed."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(maxsplit=3)
        if len(parts) < 4 or parts[0] not in METHODS or not parts[1].startswith("/"):
            raise ValueError(f"{EXEMPTIONS.name}:{number}: not METHOD PATH CHECK REASON: {line!r}")
        if parts[2] not in CHECKS.get_all_names():
            raise ValueError(f"{EXEMPTIONS.name}:{number}: no check {parts[2]!r}")
        found.append(Exemption(*parts))
    return found


def stale(exemptions: list[Exemption], spec: dict) -> list[str]:
    """The exemptions whose route the spec does not declare."""
    declared = {f"{method.upper()} {path}" for path, methods in spec["paths"].items() for method in methods}
    return [e.operation for e in exemptions if e.operation not in declared]


def config(exemptions: list[Exemption]) -> str:
    """schemathesis.toml: every check on (a 413 counts as refusing
    invalid data), each exemption's check off for its operation alone (matched by its
    exact name; a path filter alone would match every method of the path)."""
    operations = [{"include-name": e.operation, "checks": {e.check: {"enabled": False}}} for e in exemptions]
    rejections = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]  # a body over its route's limit is refused too
    return tomli_w.dumps({"checks": {"enabled": True, "negative_data_rejection": {"expected-statuses": rejections}},
                          "operations": operations})


@dataclass
class Outcome:
    """One run: schemathesis's exit status, the cases it generated, its wall time."""

    role: str
    status: int
    cases: int
    seconds: float


def run(role: str, token: str, base: str, config_file: Path, extra: list[str]) -> Outcome:
    """One schemathesis run as ``role``; its output goes to ours as it comes."""
    command = ["schemathesis", "--config-file", str(config_file), "run", f"{base}/openapi.json",
               "-H", f"Authorization: Bearer {token}", "--max-time", str(BUDGET_S[role]),
               "--request-timeout", str(REQUEST_TIMEOUT_S), "--generation-database", "none", "--no-color", *extra]
    print(f"== schemathesis as {role}: up to {BUDGET_S[role]} s", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=config_file.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = process.wait()
    counted = re.search(r"(\d+) generated", "".join(lines))
    return Outcome(role, status, int(counted.group(1)) if counted else 0, time.monotonic() - started)


def logged_errors(log: str) -> list[str]:
    """The daemon's log lines at level error or above, whole (with the traceback a 500 left)."""
    return [line for line in log.splitlines() if re.search(r'"level": "(error|critical)"', line)]


def main(extra: list[str]) -> int:
    started = time.monotonic()
    exemptions = read_exemptions(EXEMPTIONS.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="dialer-schemathesis-") as folder:
        daemon = start_api_daemon(Path(folder), leads=50)
        try:
            with urllib.request.urlopen(f"{daemon.base}/openapi.json", timeout=10) as response:
                unknown = stale(exemptions, json.load(response))
            if unknown:
                print(f"{EXEMPTIONS.name} names routes the spec does not have: {', '.join(unknown)}")
                return 1
            config_file = Path(folder) / "schemathesis.toml"
            config_file.write_text(config(exemptions), encoding="utf-8")
            outcomes = [run(role, daemon.tokens[role], daemon.base, config_file, extra) for role in BUDGET_S]
        finally:
            stopped = daemon.running.stop()
        if stopped != 0:
            print(f"the daemon exited {stopped}:\n{daemon.log.read_text()[-3000:]}")
        errors = logged_errors(daemon.log.read_text(encoding="utf-8"))
        if errors:
            print("the daemon logged these errors (a 500's traceback is here):", *errors, sep="\n")
    for o in outcomes:
        print(f"schemathesis as {o.role}: {o.cases} cases in {o.seconds:.0f} s, exit {o.status}")
    print(f"schemathesis step: {time.monotonic() - started:.0f} s, {len(exemptions)} exemptions")
    return int(stopped != 0 or any(o.status for o in outcomes))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
