"""CSV import of leads: normalise numbers to E.164, find time zones, reject loudly.

Why a reject file: nothing may be dropped silently. Every row ends up either
imported, rejected (with its line number and reason), counted as a
duplicate of an earlier row of the file, or counted as already imported
(stored by an earlier run), and the four counts add up to the rows read.

Why batches: a list of a million rows streams through in batches of
``BATCH`` rows, each inserted and committed at once. An import cut short
keeps what it committed (Ctrl-C raises ``Interrupted`` saying how many
leads that was), and running it again adds only the rest, since numbers
already in the campaign count as already imported.

Why the options and the file are checked first: a bad delimiter, region or
encoding found half-way would leave half a list committed.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple, TextIO, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from dialer.errors import Interrupted
from lists.consent import IMPORT_COLUMNS as CONSENT_COLUMNS
from lists.consent import ImportedConsent, imported, record_imported
from lists.jurisdictions import lead_profile
from lists.lifecycle import LeadStatus, reopened
from lists.models import Campaign, DncEntry, Lead, insert_new_leads, to_db
from lists.numbers import normalise_number, region_code, valid_zone, zone_for_postal_code
from lists.places import ZoneSource, lead_zones
from lists.rules import never_open
from lists.sealing import sealer_of
from pacing.errors import InvalidInput

__all__ = ["ImportSummary", "import_csv", "count_rows", "read_csv", "Record", "UNBALANCED", "check_text",
           "delimiter_option"]

BATCH = 5000
_PARALLEL_BYTES = 4 << 20
_PHONE_KEYS = ("phone", "phone_number", "number", "tel", "telephone", "msisdn")
_REGION_KEYS = ("country", "region", "country_code")
_ZONE_KEYS = ("timezone", "time_zone", "tz")
_POSTAL_KEYS = ("postal_code", "postcode", "zip", "zip_code", "plz")
_SUBDIVISION_KEYS = ("subdivision", "state", "federal_subject", "oblast")  # "region" is the country's
_NOT_FIELDS = frozenset((*_PHONE_KEYS, *_REGION_KEYS, *_ZONE_KEYS, "name", *CONSENT_COLUMNS))


@dataclass
class ImportSummary:
    """What an import did with each row. Of the leads imported, ``uncertain_zones`` have several candidate time
    zones and ``no_window`` were set aside (``LeadStatus.NO_WINDOW``) because their own country's window
    (``lists.jurisdictions``) never opens in all of theirs; ``zones_given`` leads set aside before were given
    a zone by this file and may be dialled again (counted as already imported).

    The other leads have one zone each, from: ``zone_by_timezone`` the timezone column, ``zone_by_postal_code``
    a US ZIP code, ``zone_by_subdivision`` a subdivision (federal subject, state, city), ``zone_by_number`` the
    number alone; these four and ``uncertain_zones`` add up to ``imported``. ``unknown_subdivisions`` leads had
    a subdivision not of their number's country or not known there: their number's own zones were kept.
    ``with_consent`` came with a consent and ``customers`` with a customer relationship
    (``lists.consent.IMPORT_COLUMNS``)."""

    rows: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    already_imported: int = 0
    rejects_path: Path | None = None
    uncertain_zones: int = 0
    no_window: int = 0
    zones_given: int = 0
    zone_by_timezone: int = 0
    zone_by_postal_code: int = 0
    zone_by_subdivision: int = 0
    zone_by_number: int = 0
    unknown_subdivisions: int = 0
    with_consent: int = 0
    customers: int = 0

    def line(self) -> str:
        already = f", {self.already_imported} already imported" if self.already_imported else ""
        given = f" ({self.zones_given} given their time zone, dialable again)" if self.zones_given else ""
        consent = [f"{n} {what}" for n, what in ((self.with_consent, "with consent"),
                                                  (self.customers, "customers")) if n]
        held = f" ({', '.join(consent)})" if consent else ""
        return (f"{self.rows} rows: {self.imported} imported{held}, {self.rejected} rejected, "
                f"{self.duplicates} duplicates{already}{given}"
                + (f" (see {self.rejects_path})" if self.rejects_path else "") + self.zones_line())

    def zones_line(self) -> str:
        """How the imported leads got their time zones (``; time zones: 3 from the subdivision, ...``), the
        counts that are not zero; "" when nothing was imported."""
        counts = [(self.zone_by_timezone, "from the timezone column"),
                  (self.zone_by_subdivision, "from the subdivision"), (self.zone_by_postal_code, "from the ZIP code"),
                  (self.zone_by_number, "from the number alone"), (self.uncertain_zones, "uncertain (several zones)"),
                  (self.unknown_subdivisions, "with a subdivision not known for the number's country")]
        said = ", ".join(f"{count} {what}" for count, what in counts if count)
        return f"; time zones: {said}" if said else ""

    def warning(self) -> str | None:
        """Why some leads may be dialled late or never, and what resolves it; None when every lead has one zone.

        Why say it at import: a lead is dialled only when the window is open
        in every one of its candidate zones, so without a word a Russian
        mobile under the French window would simply never be called."""
        if not (self.uncertain_zones or self.no_window):
            return None
        aside = (f", and for {self.no_window} it never is: they were set aside (status no_window)"
                 if self.no_window else "")
        return (f"{self.uncertain_zones} leads have several candidate time zones (a mobile or country-wide "
                f"number): each is dialled only when its country's window is open in all of them{aside}; "
                "a timezone column, or a subdivision column (a Russian federal subject, a US state, a big city), "
                "gives a lead its own zone (import the file again with it)")


def check_text(path: Path, encoding: str = "utf-8-sig", argument: str = "file", hint: str = "") -> None:
    """InvalidInput naming ``argument`` and the line unless the whole file decodes as ``encoding`` with no NUL byte.

    ``hint`` is added to the message (the CLI names its ``--encoding`` option).

    Why before reading: a binary file, or a UTF-16 or cp1251 one read as
    UTF-8, fails at its first odd byte, which may be past rows already
    committed. Decoding in 1 MB pieces costs a few milliseconds per million rows.
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise InvalidInput("encoding", f"unknown encoding {encoding!r} (e.g. utf-8, cp1251, latin-1)") from None
    line = 1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                where = line + chunk[:max(exc.start, 0)].count(b"\n")
                raise InvalidInput(argument, f"{path.name} is not {encoding} text "
                                             f"(line {where}: {exc.reason}){hint}") from None
            if "\0" in text:
                where = line + text[:text.index("\0")].count("\n")
                raise InvalidInput(argument, f"{path.name} looks binary (a NUL byte on line {where}), not text{hint}")
            line += text.count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InvalidInput(argument, f"{path.name} is not {encoding} text (its end: {exc.reason}){hint}") from None


def delimiter_option(text: str | None) -> str | None:
    """One character, or None to detect it; the two characters ``\\t`` typed in a shell mean TAB."""
    if text is None or text == "":
        return None
    if text in ("\\t", "tab", "TAB"):
        return "\t"
    if len(text) != 1:
        raise InvalidInput("delimiter", f"must be one character (or \\t for TAB), got {text!r}")
    if text in ('"', "\r", "\n"):
        raise InvalidInput("delimiter", f"{text!r} cannot separate fields")
    return text


def _detect_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


Record = tuple[int, list[str], str]
"""One row of a CSV file: the line it starts on, its cells as read, and why it cannot be read ("" when it can;
the workers strip the cells and pair them with the header). A plain tuple: a million are made per import."""

_QUOTED_SPAN = 20  # lines a quoted cell may run over (a note with line breaks); a longer one is a quote left open
UNBALANCED = "unbalanced quote: a cell opened with \" on this line is not closed"


class _Lines:
    """The file's lines for ``csv.reader``, counting them and keeping the last few, so a record's lines can be
    read again.

    Why: a quote opened by mistake makes the reader run on through the next
    lines as one cell, so a row's error used to be reported at another
    line ("missing field: phone") and the rows after it were lost. Knowing
    the lines a record took, the import reports the quote at the line that
    opened it and reads the lines after it again as rows of their own.
    """

    def __init__(self, handle: TextIO):
        self.handle = handle
        self.pending: deque[str] = deque()  # lines to read again, before the file's next
        self.recent: deque[str] = deque(maxlen=_QUOTED_SPAN)
        self.count = 0  # lines given to the reader, those read again included
        self.replayed = 0  # lines given back to be read again
        self.start = 0  # ``count`` when the record began
        self.open = False  # the record ended at the file's end, or its span's, inside a quote

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.count - self.start >= _QUOTED_SPAN:
            self.open = True
            raise StopIteration  # csv.reader ends the record here; the next one starts afresh
        line = self.pending.popleft() if self.pending else next(self.handle, "")
        if not line:
            self.open = self.count > self.start  # the file ended inside a quoted cell
            raise StopIteration
        self.recent.append(line)
        self.count += 1
        return line

    def begin(self) -> int:
        """Start a record; returns the file line it starts on."""
        self.start, self.open = self.count, False
        return self.count + 1 - self.replayed

    def again(self) -> str:
        """The record's first line; the lines after it are given to the reader again."""
        taken = list(self.recent)[self.start - self.count:]
        self.pending.extendleft(reversed(taken[1:]))
        self.replayed += len(taken) - 1
        return taken[0].rstrip("\r\n")


def _rows_inside(cells: list[str], width: int, delimiter: str) -> bool:
    """True when a line inside a cell holds as many delimiters as a row: a row a stray quote took in."""
    return any(piece.count(delimiter) >= width - 1 for cell in cells for piece in cell.split("\n")[1:])


def read_csv(handle: TextIO, delimiter: str | None) -> tuple[list[str], Iterator[Record]]:
    """The lower-cased header and the records after it; empty lines are skipped.

    A record that runs over several lines holds a cell with line breaks
    when its quote closed, it has the header's cells, and no line inside a
    cell holds a row's delimiters; otherwise a quote was left open: the
    record is its first line, with ``UNBALANCED``, and the lines after it
    are read again.
    """
    sample = handle.read(64 * 1024)
    handle.seek(0)
    lines = _Lines(handle)
    reader = csv.reader(lines, delimiter=delimiter or _detect_delimiter(sample))
    header = [h.strip().lower() for h in next(reader, [])]
    width, sep = len(header), reader.dialect.delimiter

    def rows() -> Iterator[Record]:
        while True:
            line = lines.begin()
            cells = next(reader, None)
            if cells is None:
                return
            if lines.count - lines.start > 1 or lines.open:
                if lines.open or len(cells) != width or _rows_inside(cells, width, sep):
                    yield line, [lines.again()], UNBALANCED
                    continue
            if any(cells):
                yield line, cells, ""

    return header, rows()


def count_rows(path: Path) -> int:
    """Lines after the header, for a progress bar's total (fast: counts newlines in binary)."""
    with path.open("rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first(row: dict[str, str], keys: tuple[str, ...]) -> str:
    for key in keys:
        if value := row.get(key):
            return value
    return ""


def _private(path: str, flags: int) -> int:
    """Open mode 600: a rejects file holds the raw numbers and names of the rows it lists."""
    return os.open(path, flags, 0o600)


def import_csv(session: Session, campaign: Campaign, path: Path, *, default_region: str | None = None,
               mapping: dict[str, str] | None = None, delimiter: str | None = None, encoding: str = "utf-8-sig",
               progress: Callable[[int], None] | None = None, now: datetime | None = None,
               workers: int | None = None) -> ImportSummary:
    """Import ``path`` into ``campaign``; rejected and duplicate rows go to ``PATH.rejects.csv``.

    ``mapping`` renames file columns to fields (``{"Telefon": "phone"}``).
    ``progress`` is called with the number of rows done since its last call.
    ``workers`` processes normalise numbers (default: several for files over
    a few MB, where the pool's start-up pays for itself).
    Bad options and a file that is not text in ``encoding`` raise InvalidInput before anything is stored.
    """
    mapping = {k.lower(): v for k, v in (mapping or {}).items()}
    delimiter = delimiter_option(delimiter)
    region = _default_region(default_region)
    if workers is not None and workers < 1:
        raise InvalidInput("workers", "must be at least 1")
    check_text(path, encoding)
    rejects_path = path.with_name(path.name + ".rejects.csv")
    with (path.open(encoding=encoding, newline="") as handle,
          open(rejects_path, "w", newline="", encoding="utf-8", opener=_private) as out):
        header, rows = read_csv(handle, delimiter)
        if not any(mapping.get(h, h) in _PHONE_KEYS for h in header):
            raise InvalidInput("file", f"has no phone column (looked for {', '.join(_PHONE_KEYS)})")
        writer = csv.writer(out)
        writer.writerow(["line", "reason", *header])
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if path.stat().st_size > _PARALLEL_BYTES else 1
        fields = [mapping.get(h, h) for h in header]
        job = _Import(session, campaign, to_db(now or datetime.now(UTC)), fields, path.name)
        try:
            summary = job.run(_prepared(_chunks(rows, BATCH), fields, region, workers), writer, progress)
        except KeyboardInterrupt:
            raise Interrupted(f"import of {path.name} interrupted: {job.committed} leads were committed to "
                              f"campaign {campaign.name}; run the same import again to add the rest "
                              "(rows stored already are listed as 'already imported')") from None
    if summary.rejected + summary.duplicates + summary.already_imported:
        summary.rejects_path = rejects_path
    else:
        rejects_path.unlink()
    return summary


def _default_region(text: str | None) -> str | None:
    try:
        return region_code(text) if text else None
    except ValueError as exc:
        raise InvalidInput("default_region", str(exc)) from None


class _Prepared(NamedTuple):
    """A row ready to become a lead, short of the campaign-wide checks (duplicates, DNC): its ``row`` in the
    order ``insert_new_leads`` takes, then what gave its zones; ``fields`` is already JSON, encoded in the worker
    that prepared it."""

    e164: str
    name: str | None
    region: str
    zones: str
    fields: str
    zone_from: ZoneSource  # not stored: counted in the summary

    @property
    def row(self) -> _Row:
        """What ``insert_new_leads`` takes."""
        return self[:5]


def _prepare_row(row: dict[str, str], default_region: str | None) -> _Prepared | str:
    """The lead a row describes, or why it is rejected."""
    phone = _first(row, _PHONE_KEYS)
    if not phone:
        return "missing field: phone"
    try:
        e164, region, zones = normalise_number(phone, _first(row, _REGION_KEYS).upper() or default_region)
    except ValueError as exc:
        return str(exc)
    found = _zones(row, region, zones)
    if isinstance(found, str):
        return found
    fields = {k: v for k, v in row.items() if k not in _NOT_FIELDS and v}
    return _Prepared(e164, row.get("name") or None, region, found[0], json.dumps(fields), found[1])


def _zones(row: dict[str, str], region: str, number_zones: tuple[str, ...]) -> tuple[str, ZoneSource] | str:
    """The lead's zones (comma-separated) and what gave them, or why the row is rejected.

    The most precise first: the timezone column, a US ZIP code (one zone
    even in a state split between two), the subdivision, the number."""
    explicit = _first(row, _ZONE_KEYS)
    if explicit:
        return (explicit, ZoneSource.TIMEZONE) if valid_zone(explicit) else f"unknown time zone: {explicit}"
    if zone := zone_for_postal_code(region, _first(row, _POSTAL_KEYS)):
        return zone, ZoneSource.POSTAL_CODE
    zones, source = lead_zones(region, number_zones, _first(row, _SUBDIVISION_KEYS))
    if not zones:
        return "no time zone: a non-geographic number has no calling window; give a timezone column"
    return ",".join(zones), source


def _prepare_cells(cells: list[str], fields: list[str], default_region: str | None) -> _Prepared | str:
    """The lead a row's cells describe, or why it is rejected; ``fields`` names each column.

    Why cells past the header reject the row: they belong to no column, so
    keeping the row would drop them silently (a stray delimiter in a name
    shifts every cell after it). Empty ones, as spreadsheets write at the
    end of short rows, hold nothing to lose.
    """
    if any(cell.strip() for cell in cells[len(fields):]):
        extra = len(cells) - len(fields)
        return (f"{extra} cell{'s' if extra > 1 else ''} more than the header's {len(fields)} columns "
                "(a stray delimiter, or a column with no name)")
    return _prepare_row(dict(zip(fields, map(str.strip, cells), strict=False)), default_region)


def _prepare_chunk(rows: list[tuple[list[str], str]], fields: list[str],
                   default_region: str | None) -> list[_Prepared | str]:
    """Runs in worker processes on big files: parsing numbers is most of an import's cost.

    ``rows`` are each record's cells and problem; ``fields`` names each column, after the caller's mapping.
    """
    return [problem or _prepare_cells(cells, fields, default_region) for cells, problem in rows]


Chunk = list[Record]
_Row = tuple[str, str | None, str, str, str]  # what insert_new_leads takes: a _Prepared's ``row``


class _Import:
    """One import's state: numbers stored before, numbers of this file, the DNC set and the batch being filled.

    Why two sets: a number stored by an earlier (perhaps interrupted) run is
    "already imported", not a duplicate in the file the user is looking at.
    """

    def __init__(self, session: Session, campaign: Campaign, now: datetime, fields: list[str], source: str):
        self.session, self.campaign, self.now = session, campaign, now
        self.consent_columns = [(i, name) for i, name in enumerate(fields) if name in CONSENT_COLUMNS]
        self.source = source
        mine = Lead.campaign_id == campaign.id
        self.key_of = sealer_of(session.get_bind().dialect).key_of  # people are matched by blind index
        self.stored = frozenset(session.scalars(select(Lead.phone_key).where(mine)))
        self.aside = {key: (lead_id, attempts) for key, lead_id, attempts in session.execute(
            select(Lead.phone_key, Lead.id, Lead.attempts).where(mine, Lead.status == LeadStatus.NO_WINDOW))}
        self.seen: set[str] = set()
        self.dnc = set(session.scalars(select(DncEntry.phone_key).where(DncEntry.company == campaign.company)))
        self.batch = _Batch()
        self.windowless: dict[tuple[str, str], bool] = {}
        self.committed = 0

    def closed(self, lead: _Prepared) -> bool:
        """True when the person's own country's window never opens in all their zones (one answer per
        distinct country and zone set); False while the campaign names no countries (it will not start)."""
        asked = (lead.region, lead.zones)
        if asked not in self.windowless:
            profile = lead_profile(self.campaign, lead.region, self.now.replace(tzinfo=UTC))
            self.windowless[asked] = profile is not None and never_open(profile, tuple(lead.zones.split(",")),
                                                                        self.now.replace(tzinfo=UTC))
        return self.windowless[asked]

    def run(self, prepared: Iterator[tuple[Chunk, list[_Prepared | str]]], writer: Any,
            progress: Callable[[int], None] | None) -> ImportSummary:
        """Check each chunk here while a writer thread stores the one before.

        Why a thread: the database's insert and commit release the GIL, so
        writing a batch overlaps checking the next (on SQLite it was a third
        of the import's time in this process). Only one thread at a time uses
        the session: a batch goes to the writer after the previous one is done.
        """
        summary = ImportSummary()
        with ThreadPoolExecutor(1, thread_name_prefix="lead-import-writer") as store:
            stored: Future[None] | None = None
            for chunk, leads in prepared:
                self.check(chunk, leads, summary, writer)
                if stored:
                    stored.result()
                stored, self.batch = store.submit(self.store, self.batch), _Batch()
                if progress:
                    progress(len(chunk))
            if stored:
                stored.result()
        return summary

    def check(self, chunk: Chunk, leads: list[_Prepared | str], summary: ImportSummary, writer: Any) -> None:
        """Count each row of the chunk and write every row not imported to the rejects file, with its reason."""
        for (line, raw, _), lead in zip(chunk, leads, strict=True):
            consent = None if isinstance(lead, str) else self.consent_of(raw)
            outcome = consent if isinstance(consent, str) else self.accept(lead)
            if consent is not None and not isinstance(consent, str) and not isinstance(lead, str):
                self.held(lead, consent, outcome, summary)
            summary.imported += outcome == _IMPORTED
            summary.duplicates += outcome == _DUPLICATE
            summary.already_imported += outcome in (_ALREADY, _ZONE_GIVEN)
            summary.zones_given += outcome == _ZONE_GIVEN
            summary.rejected += outcome not in (_IMPORTED, _DUPLICATE, _ALREADY, _ZONE_GIVEN)
            if outcome != _IMPORTED:
                writer.writerow([line, outcome, *raw])
            elif not isinstance(lead, str):
                _count_zones(summary, lead)
                summary.no_window += self.closed(lead)
        summary.rows += len(chunk)

    def consent_of(self, raw: list[str]) -> ImportedConsent | str | None:
        """The row's consent and customer relationship, or why they cannot be recorded (the row is rejected)."""
        if not self.consent_columns:
            return None
        row = {name: raw[i].strip() for i, name in self.consent_columns if i < len(raw)}
        return imported(row, self.now.replace(tzinfo=UTC), f"list {self.source}")

    def held(self, lead: _Prepared, consent: ImportedConsent, outcome: str, summary: ImportSummary) -> None:
        """Keep the consent of a row whose person is in the campaign (imported now or before), and count it."""
        if outcome not in (_IMPORTED, _ALREADY, _ZONE_GIVEN):
            return
        self.batch.consents.append((self.key_of(lead.e164), consent))
        if outcome == _IMPORTED:
            summary.with_consent += consent.consent is not None
            summary.customers += consent.relationship is not None

    def accept(self, lead: _Prepared | str) -> str:
        """Queue the lead for insert and return "imported", or return why not."""
        if isinstance(lead, str):
            return lead
        key = self.key_of(lead.e164)
        if key in self.stored:
            return self.given(lead, key)
        if key in self.seen:
            return _DUPLICATE
        if key in self.dnc:
            return "on DNC"
        if self.campaign.countries and lead.region not in self.campaign.countries:
            return f"country {lead.region}: not one the campaign calls ({', '.join(self.campaign.countries) or 'none'})"
        self.seen.add(key)
        (self.batch.aside if self.closed(lead) else self.batch.fresh).append(lead.row)
        return _IMPORTED

    def given(self, lead: _Prepared, key: str) -> str:
        """A stored lead set aside for its zones, which this row gives a zone the window opens in, is reopened."""
        if key not in self.aside or self.closed(lead):
            return _ALREADY
        lead_id, attempts = self.aside.pop(key)
        self.batch.reopen.append({"lead_id": lead_id, "new_zones": lead.zones, "new_status": reopened(attempts)})
        return _ZONE_GIVEN

    def store(self, batch: _Batch) -> None:
        insert_new_leads(self.session, self.campaign.id, self.now, batch.fresh)
        insert_new_leads(self.session, self.campaign.id, self.now, batch.aside, LeadStatus.NO_WINDOW)
        if batch.reopen:
            table = cast(Table, Lead.__table__)
            self.session.connection().execute(
                update(table).where(table.c.id == bindparam("lead_id"), table.c.status == LeadStatus.NO_WINDOW)
                .values(zones=bindparam("new_zones"), status=bindparam("new_status")), batch.reopen)
        record_imported(self.session, self.campaign.company, batch.consents, self.now.replace(tzinfo=UTC),
                        f"import:{self.source}")
        self.session.commit()
        self.committed += len(batch.fresh) + len(batch.aside)


def _count_zones(summary: ImportSummary, lead: _Prepared) -> None:
    """Count an imported lead under what gave it its one zone, or as uncertain."""
    summary.unknown_subdivisions += lead.zone_from == ZoneSource.UNKNOWN_PLACE
    if "," in lead.zones:
        summary.uncertain_zones += 1
        return
    summary.zone_by_timezone += lead.zone_from == ZoneSource.TIMEZONE
    summary.zone_by_postal_code += lead.zone_from == ZoneSource.POSTAL_CODE
    summary.zone_by_subdivision += lead.zone_from == ZoneSource.SUBDIVISION
    summary.zone_by_number += lead.zone_from in (ZoneSource.NUMBER, ZoneSource.UNKNOWN_PLACE)


_IMPORTED, _DUPLICATE, _ALREADY = "imported", "duplicate", "already imported"
_ZONE_GIVEN = "already imported, set aside for its time zones: given one here, it may be dialled again"


@dataclass
class _Batch:
    """The rows of one chunk for the writer: new leads (``aside``: those the window never opens for), the
    set-aside leads this file gives a zone, and the consents its rows carry."""

    fresh: list[_Row] = field(default_factory=list)
    aside: list[_Row] = field(default_factory=list)
    reopen: list[dict[str, Any]] = field(default_factory=list)
    consents: list[tuple[str, ImportedConsent]] = field(default_factory=list)  # (person's blind index, consent)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and reports what was committed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work(chunk: Chunk) -> list[tuple[list[str], str]]:
    """What a worker needs of each record: its cells and its problem, not its line."""
    return [(cells, problem) for _, cells, problem in chunk]


def _prepared(chunks: Iterator[Chunk], fields: list[str], default_region: str | None,
              workers: int) -> Iterator[tuple[Chunk, list[_Prepared | str]]]:
    """Each chunk with its prepared rows, in file order; with workers, a few chunks are prepared ahead."""
    if workers <= 1:
        yield from ((chunk, _prepare_chunk(_work(chunk), fields, default_region)) for chunk in chunks)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"), initializer=_ignore_interrupts) as pool:
        pending: deque[tuple[Chunk, Future[list[_Prepared | str]]]] = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_prepare_chunk, _work(chunk), fields, default_region)))
            if len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        yield from ((done, future.result()) for done, future in pending)
