"""Each module's __all__ lists exactly its public names (httpx's habit)."""

import importlib
import inspect

import pytest

MODULES = ["pacing.erlang", "pacing.staffing", "pacing.errors", "pacing._special", "dialer.errors",
           "simulation.plots", "lists.lifecycle", "lists.rules", "lists.selection", "lists.importer",
           "lists.campaigns", "lists.store", "lists.dnc", "lists.numbers", "lists.reports", "lists.models",
           "pacing.controllers", "dialer.drivers.sim.distributions", "dialer.drivers.sim.scenario",
           "simulation.leads", "simulation.model", "simulation.results", "simulation.experiments",
           "simulation.report", "simulation.calibrate", "simulation.validation", "pacing.estimators",
           "pacing.ledger", "pacing.memory", "pacing.predictive", "pacing.vicidial", "dialer.service.config",
           "dialer.service.daemon", "dialer.service.http", "dialer.service.logs", "dialer.service.metrics",
           "dialer.service.notify", "dialer.service.schedule", "dialer.service.store_ports",
           "dialer.drivers.sim.store", "simulation.demo", "dialer.service.users", "dialer.api", "dialer.api.app",
           "dialer.api.auth", "dialer.api.floor", "dialer.api.errors", "dialer.api.schemas", "dialer.api.cards",
           "dialer.api.stats", "dialer.api.agents", "dialer.api.campaigns", "dialer.api.lists", "dialer.api.dnc",
           "dialer.api.reports", "dialer.drivers.asterisk", "dialer.service.cluster", "dialer.service.recordings",
           "dialer.api.recordings"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name):
    module = importlib.import_module(name)
    public = {
        k for k, v in vars(module).items()
        if not k.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
        and getattr(v, "__module__", None) == name
    }
    assert public <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)
