import json
from pathlib import Path

import pytest
from hypothesis import settings

# A deadline is an assertion on wall-clock time: on two cores shared with other work, an example that takes
# 270 ms instead of 160 ms would fail a property that holds. The properties are about values, never speed.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def erlang_reference() -> dict:
    """Published values from shared/reference/erlang.json (copied so a clean clone carries them)."""
    return json.loads((DATA / "erlang_reference.json").read_text())


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]
SEALED = ["sqlite-sealed", pytest.param("postgresql-sealed", marks=pytest.mark.pg)]
TEST_STORE_KEY = "dGhpcyBpcyBhIHRlc3Qga2V5IG9mIDMyIGJ5dGVzISE="  # 32 bytes, for sealed test stores only


def _worker_database(url: str) -> str:
    """The test database of this pytest-xdist worker: ``<name>_gw0``, ``<name>_gw1``... created on first use.

    Why: each test resets the schema it works in, so two workers sharing one database wipe each other's
    tables mid-test."""
    import os

    from sqlalchemy import make_url, text

    from lists.store import open_engine

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = open_engine(parsed.set(database="postgres").render_as_string(hide_password=False), create=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from lists.store import open_engine

    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def pytest_generate_tests(metafunc):
    """Every test of a store runs on each backend; a module marked ``sealed_too`` also on sealed stores."""
    if "store_backend" in metafunc.fixturenames:
        sealed = metafunc.definition.get_closest_marker("sealed_too") is not None
        metafunc.parametrize("store_backend", BACKENDS + (SEALED if sealed else []), indirect=True)


@pytest.fixture
def store_backend(request) -> str:
    return request.param


@pytest.fixture
def store_url(store_backend, tmp_path, monkeypatch) -> str:
    """The same store tests on SQLite (a WAL file) and PostgreSQL (started by .ci/postgres.sh); a ``-sealed``
    backend holds numbers and names encrypted, its key in the environment (so the CLI and daemons see it)."""
    import os

    from lists.sealing import KEY_ENV

    backend = store_backend.removesuffix("-sealed")
    if backend != store_backend:
        monkeypatch.setenv(KEY_ENV, TEST_STORE_KEY)
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'dialer.db'}"
    url = os.environ.get("DIALER_TEST_PG_URL")
    if not url:
        pytest.skip("DIALER_TEST_PG_URL not set: run the README's test command, which starts PostgreSQL")
    url = _worker_database(url)
    _reset_postgres(url)
    return url


@pytest.fixture
def store(store_url):
    from lists.store import open_store

    factory = open_store(store_url)
    yield factory
    factory.kw["bind"].dispose()
