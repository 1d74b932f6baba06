"""The schemathesis step of .ci/run (``.ci/api_schemathesis.py``): its exemptions name routes the spec has, each
turns one check off on its own route alone, and a malformed line fails the step rather than widening it."""

from __future__ import annotations

import importlib.util
import sys
from types import SimpleNamespace

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from dialer.api.app import create_app
from tests.daemon_helpers import REPO


def _script():
    spec = importlib.util.spec_from_file_location("api_schemathesis", REPO / ".ci" / "api_schemathesis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


step = _script()


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(SimpleNamespace(cors_origins=())).openapi()  # type: ignore[arg-type]


def _enabled(spec: dict, lines: str) -> dict[str, dict[str, bool]]:
    """Operation label: check name: on, as schemathesis reads the config the step writes from ``lines``."""
    config = SchemathesisConfig.from_str(step.config(step.read_exemptions(lines)))
    project = config.projects.get_default()
    schema = schemathesis.openapi.from_dict(spec, config=config)
    checks = sorted(step.CHECKS.get_all_names())
    enabled = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found = project.checks_config_for(operation=operation, phase="fuzzing")
        enabled[operation.label] = {name: found.get_by_name(name=name).enabled for name in checks}
    return enabled


def test_the_committed_exemptions_name_routes_of_the_spec(spec):
    exemptions = step.read_exemptions(step.EXEMPTIONS.read_text(encoding="utf-8"))
    assert exemptions and step.stale(exemptions, spec) == []
    assert len({(e.operation, e.check) for e in exemptions}) == len(exemptions), "a route and check twice"


def test_an_exemption_turns_its_check_off_on_its_route_alone(spec):
    """Not on the same path with another method (GET /campaigns), nor on another path with the same method."""
    enabled = _enabled(spec, "POST /api/v1/outbound/campaigns positive_data_acceptance the store decides\n")
    off = {(label, name) for label, checks in enabled.items() for name, on in checks.items() if not on}
    assert off == {("POST /api/v1/outbound/campaigns", "positive_data_acceptance")}


def test_without_exemptions_every_check_is_on(spec):
    assert all(all(checks.values()) for checks in _enabled(spec, "# none\n").values())


@pytest.mark.parametrize("line, words", [
    ("POST /api/v1/outbound/dnc positive_data_acceptance", "not METHOD PATH CHECK REASON"),
    ("FETCH /api/v1/outbound/dnc positive_data_acceptance why", "not METHOD PATH CHECK REASON"),
    ("POST /api/v1/outbound/dnc all_checks why", "no check 'all_checks'"),
])
def test_a_malformed_line_is_refused(line, words):
    with pytest.raises(ValueError, match=words):
        step.read_exemptions(f"# a comment\n{line}\n")


def test_an_exemption_for_a_route_the_spec_lacks_is_stale(spec):
    exemptions = step.read_exemptions("GET /api/v1/gone status_code_conformance the route was removed\n")
    assert step.stale(exemptions, spec) == ["GET /api/v1/gone"]


def test_a_body_over_its_limit_counts_as_refusing_invalid_data_and_is_documented(spec):
    """A login body past 4 KB is schema-violating (maxLength) and answered 413 before it is read: the negative
    data check must take 413 as a refusal, and every route documents it (CI failed on both once)."""
    config = SchemathesisConfig.from_str(step.config([]))
    schema = schemathesis.openapi.from_dict(spec, config=config)
    project = config.projects.get_default()
    for result in schema.get_all_operations():
        operation = result.ok()
        rejection = project.checks_config_for(operation=operation, phase="fuzzing").get_by_name(
            name="negative_data_rejection")
        assert "413" in rejection.expected_statuses and "422" in rejection.expected_statuses, operation.label
        assert "413" in spec["paths"][operation.path][operation.method.lower()]["responses"], operation.label


def test_the_daemons_logged_errors_are_picked_out_whole():
    log = ('{"level": "info", "msg": "serving"}\n'
           '{"level": "error", "msg": "Exception in ASGI application", "exc": "Traceback ..."}\n')
    assert step.logged_errors(log) == [log.splitlines()[1]]
