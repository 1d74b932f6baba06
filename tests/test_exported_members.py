"""Each module's __all__ lists exactly its public names (httpx's habit)."""

import importlib
import inspect

import pytest

MODULES = ["pacing._special", "pacing.controllers", "pacing.days", "pacing.erlang", "pacing.errors",
           "pacing.estimators", "pacing.ledger", "pacing.memory", "pacing.predictive", "pacing.registry",
           "pacing.staffing", "pacing.vicidial", "dialer.errors", "dialer.records", "lists.campaigns",
           "lists.companies", "lists.dnc", "lists.importer", "lists.lifecycle", "lists.models", "lists.numbers",
           "lists.reports", "lists.rules",
           "lists.selection", "lists.store", "dialer.core.agents", "dialer.core.calls", "dialer.core.engine",
           "dialer.core.ports", "dialer.core.snapshot", "dialer.drivers.asterisk", "dialer.drivers.sim.customers",
           "dialer.drivers.sim.distributions", "dialer.drivers.sim.scenario", "dialer.drivers.sim.store",
           "dialer.drivers.sim.telephony", "dialer.service.assembly", "dialer.service.jobs",
           "dialer.service.cluster", "dialer.service.config", "dialer.service.daemon", "dialer.service.floor",
           "dialer.service.health", "dialer.service.http", "dialer.service.logs", "dialer.service.metrics",
           "dialer.service.notify", "dialer.service.ownership", "dialer.service.recordings",
           "dialer.service.schedule", "dialer.service.store_ports", "dialer.service.users", "dialer.api",
           "dialer.api.agents", "dialer.api.app", "dialer.api.auth", "dialer.api.campaigns", "dialer.api.cards",
           "dialer.api.dnc", "dialer.api.errors", "dialer.api.floor", "dialer.api.front", "dialer.api.lists",
           "dialer.api.recordings", "dialer.api.reports", "dialer.api.schemas", "dialer.api.stats",
           "simulation.calibrate", "simulation.demo", "simulation.experiments", "simulation.leads",
           "simulation.model", "simulation.plots", "simulation.report", "simulation.results",
           "simulation.validation", "lists.presence", "dialer.service.presence", "lists.handover",
           "lists.periods", "lists.quality", "dialer.api.quality"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name):
    module = importlib.import_module(name)
    public = {
        k for k, v in vars(module).items()
        if not k.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
        and getattr(v, "__module__", None) == name
    }
    assert public <= set(module.__all__), f"{name}.__all__ lacks {sorted(public - set(module.__all__))}"
    absent = [member for member in module.__all__ if not hasattr(module, member)]
    assert not absent, f"{name}.__all__ names what it does not have: {absent}"
