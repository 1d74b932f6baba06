"""Opening the store: SQLite (WAL) by default, PostgreSQL by URL; schema kept by Alembic.

Why Alembic even for SQLite: an operator upgrades a live database in place,
and the same migration files serve both back ends.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, select, text
from sqlalchemy.exc import ArgumentError, DatabaseError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dialer.errors import StoreError
from lists.models import DncEntry, Lead, StoreSeal
from lists.sealing import KEY_ENV, KEY_FILE_ENV, Sealer, SealError, SealMode, attach, read_key

__all__ = ["DEFAULT_URL", "database_url", "shown_url", "open_engine", "upgrade", "open_store", "store_errors",
           "checkpoint", "ping", "Hold", "hold_store"]

DEFAULT_URL = "sqlite:///dialer.db"
_MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(explicit: str | None = None) -> str:
    """The option, else ``DIALER_DATABASE_URL``, else an SQLite file in the working directory."""
    return explicit or os.environ.get("DIALER_DATABASE_URL") or DEFAULT_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL with NORMAL sync (a commit survives a process crash; a power cut may lose the last ones).

    Sized for million-lead campaigns: a 64 MB page cache holds the lead
    table's indexes (the 2 MB default rereads pages on every insert), and a
    checkpoint every 10,000 pages (about 40 MB of WAL, not 4 MB) writes each
    index page a bulk import keeps changing to the database file once per
    checkpoint instead of many times. Measured on a 1,000,000-row import:
    from 43,000 to 53,000 rows/s.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages: a user pastes error lines into tickets."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise StoreError(url, "is not a store URL; use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB") from None


def _sqlite_file(parsed: URL, url: str, create: bool) -> None:
    """Refuse a file store whose folder is missing, or which does not exist when the command only reads.

    Why: SQLite creates any file it is pointed at, so a mistyped path would
    otherwise become a new, empty store and a command would carry on empty.
    """
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return
    path = Path(parsed.database)
    if not path.parent.is_dir():
        raise StoreError(shown_url(url), f"folder {path.parent} does not exist")
    if not create and not path.exists():
        raise StoreError(shown_url(url), "no store at this path (a campaign create makes one; is the path right?)")


def open_engine(url: str, create: bool = True) -> Engine:
    """An engine for ``url``; ``postgresql://`` URLs use psycopg 3. StoreError for a URL no engine can use.

    ``create=False`` refuses an SQLite file that does not exist yet.
    """
    parsed = _parsed(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        _sqlite_file(parsed, url, create)
    try:
        engine = create_engine(parsed)
    except NoSuchModuleError:
        raise StoreError(shown_url(url), f"unknown kind of database {parsed.drivername!r}; "
                                         "use sqlite:///PATH or postgresql://…") from None
    except ImportError as exc:
        raise StoreError(shown_url(url), f"the driver for {parsed.drivername} is not installed ({exc}); "
                                         "use sqlite:///PATH or postgresql://…") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _first_line(exc: BaseException) -> str:
    """The driver's own words (``Connection refused``), without SQLAlchemy's SQL echo and links."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turn the database's failures (no server, locked, not a database file) into one StoreError line.

    An IntegrityError is left alone: the code should have prevented it, so it is a bug and keeps its traceback.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreError(shown_url(url), f"cannot use the store: {_first_line(exc)}") from None


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head", key: bytes | None = None, seal: bool = True) -> None:
    """Bring the schema up to ``revision`` (idempotent); at the head, give the engine its store's seal
    (``key``: the store key; None reads the environment, ``lists.sealing.read_key``), unless ``seal`` is
    False (``lists.privacy.encrypt_store`` reads and writes the raw values).

    On SQLite the migrations run with foreign keys off and are checked whole before the commit, as SQLite's
    own procedure for schema changes says: batch mode rebuilds a table to change its constraints (copy, drop,
    rename), and dropping a table other rows refer to (a campaign's leads) would fail with them on.
    """
    config = _alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside the transaction, where SQLite lets the setting change
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    if revision == "head" and seal:
        attach(engine.dialect, _sealer(engine, read_key() if key is None else key))


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise StoreError(shown_url(connection.engine.url.render_as_string(hide_password=False)),
                         f"the schema upgrade would leave a row of {broken[0]} referring to a missing "
                         f"row of {broken[2]}; nothing was changed")


def open_store(url: str | None = None, create: bool = True, key: bytes | None = None) -> sessionmaker[Session]:
    """Migrate the store at ``url`` and return a session factory for it; StoreError when that cannot be done.

    ``create=False`` is for commands that only make sense on an existing
    store: a missing SQLite file is refused instead of created. ``key`` is
    the store key (``lists.sealing.read_key``: None reads the environment);
    SealError when the store is sealed and the key is missing or not its own.
    """
    url = database_url(url)
    engine = open_engine(url, create)
    try:
        with store_errors(url):
            upgrade(engine, key=key)
    except DatabaseError as exc:  # not a database file, no permission: nothing to migrate
        engine.dispose()
        raise StoreError(shown_url(url), f"cannot open the store: {_first_line(exc)}") from None
    except CommandError as exc:
        engine.dispose()
        raise StoreError(shown_url(url), f"schema not known to this version of the dialer ({exc})") from None
    except (StoreError, SealError):
        engine.dispose()
        raise
    return sessionmaker(engine, expire_on_commit=False)


def _sealer(engine: Engine, key: bytes | None) -> Sealer:
    """The store's ``Sealer``: a clear store's salted index, or the key's, checked against the store.

    A clear store given a key is sealed at once when it holds no number yet
    (a new store); one that does is refused, so that data is never half
    sealed: ``dialer privacy encrypt`` seals it whole."""
    with Session(engine) as session, session.begin():
        seal = session.get_one(StoreSeal, 1)
        salt = base64.b64decode(seal.index_salt)
        if seal.mode == SealMode.CLEAR and key is None:
            return Sealer(salt)
        if key is None:
            raise SealError(f"the store is encrypted: set {KEY_ENV} or {KEY_FILE_ENV} (the daemon: [store] key_file)")
        sealer = Sealer.sealing(salt, key)
        if seal.mode == SealMode.CLEAR:
            if session.scalar(select(Lead.id).limit(1)) or session.scalar(select(DncEntry.id).limit(1)):
                raise SealError("the store holds numbers in clear: seal them with dialer privacy encrypt "
                                "(the key set), or open it without a key")
            seal.mode, seal.key_check = SealMode.AES_GCM, sealer.check()
        elif not hmac.compare_digest(seal.key_check or "", sealer.check()):
            raise SealError("the store key is not this store's (the store was sealed with another)")
        return sealer


def checkpoint(factory: sessionmaker[Session]) -> None:
    """A passive WAL checkpoint of an SQLite store: it never waits for readers, so it never holds up a claim."""
    with factory() as session:
        session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))


def ping(factory: sessionmaker[Session]) -> None:
    """A trivial query: the store is reachable and answering (raises when it is not)."""
    with factory() as session:
        session.execute(text("SELECT 1"))


@dataclass(frozen=True)
class Hold:
    """One daemon's hold on a store; ``release()`` ends it, and so does the OS when the process dies.

    Why a hold: start-up recovery settles every call the store shows as this
    daemon's, so a second process on the same store (or, on PostgreSQL, under
    the same daemon name) would settle the first one's live calls and dial
    its leads again.
    """

    release: Callable[[], None]


def hold_store(factory: sessionmaker[Session], name: str) -> Hold:
    """Hold the store for daemon ``name`` and check it takes writes; StoreError (one line) when it cannot.

    SQLite: an exclusive ``flock`` on ``<file>.owner`` (mode 600), which the
    kernel drops with the process, so a kill -9 never leaves a stale lock.
    PostgreSQL, where daemons share one store by design: a session advisory
    lock on the daemon's name, so only two daemons with one name clash.
    """
    engine: Engine = factory.kw["bind"]
    url = engine.url.render_as_string(hide_password=False)
    hold = _hold_file(engine, url, name) if engine.dialect.name == "sqlite" else _hold_name(engine, url, name)
    try:
        _check_writable(engine, url)
    except StoreError:
        hold.release()
        raise
    return hold


def _hold_file(engine: Engine, url: str, name: str) -> Hold:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return Hold(lambda: None)
    owner = Path(database).with_name(Path(database).name + ".owner")
    fd = os.open(owner, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreError(shown_url(url), f"in use by {holder}: one daemon per store file") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"daemon {name!r} (pid {os.getpid()})".encode())
    return Hold(lambda: os.close(fd))


def _hold_name(engine: Engine, url: str, name: str) -> Hold:
    """A session advisory lock, committed at once: a lock outlives its transaction, and an open transaction
    would be cut by the cluster's idle-transaction limit."""
    key = int.from_bytes(hashlib.sha256(f"dialer daemon {name}".encode()).digest()[:8], "big", signed=True)
    with store_errors(url):
        connection = engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        connection.commit()
    if not got:
        connection.close()
        raise StoreError(shown_url(url), f"daemon name {name!r} is in use by another running daemon on this store; "
                                         "give each daemon its own [daemon] name")

    def release() -> None:
        """Closing alone would return the session, lock and all, to the pool. A store that restarted since has
        dropped the session and its lock already."""
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
        except (OperationalError, InterfaceError):
            connection.invalidate()
        connection.close()

    return Hold(release)


def _check_writable(engine: Engine, url: str) -> None:
    """A write that changes nothing, rolled back: a read-only file or server fails here, before the daemon says
    it is ready, not at its first attempt record."""
    try:
        with engine.connect() as connection:
            connection.execute(text("UPDATE campaign SET id = id WHERE 1 = 0"))
            connection.rollback()
    except (OperationalError, InterfaceError, DatabaseError) as exc:
        raise StoreError(shown_url(url), f"does not take writes: {_first_line(exc)}") from None
