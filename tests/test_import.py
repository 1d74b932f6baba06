"""CSV import on messy real-world files: national formats, BOM, ';', Cyrillic, bad rows."""

from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import phonenumbers
import pytest
import rphonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lists import importer, numbers
from lists.campaigns import create_campaign
from lists.importer import import_csv
from lists.models import Lead, as_utc, to_db
from lists.numbers import country_zones, mask_number, normalise_number
from lists.sealing import person_key

pytestmark = pytest.mark.sealed_too  # the store tests hold on an encrypted store too

MESSY = """name;phone;country
Jan de Vries;06 12345678;NL
Иван Петров;8 (916) 123-45-67;RU
Ольга Смирнова;+7 916 765 43 21;
Kovács Éva;06 1 234 5678;HU
Zoë Lefèvre;01 42 68 53 00;FR
Łukasz Wiśniewski;512 345 678;PL
Sarah Jones;020 7946 0018;GB
John Smith;(202) 555-0143;US
Bad Number;12345;US
No Phone;;US
Jan again;+31 6 12345678;
"""


def _campaign(store):
    with store() as s:
        c = create_campaign(s, "Loans EU", "loan-offer")  # no countries: an import takes every one
        s.commit()
        return c


def test_messy_file_imports_with_rejects_and_nothing_lost(store, tmp_path: Path):
    campaign = _campaign(store)
    path = tmp_path / "leads.csv"
    path.write_bytes("\ufeff".encode() + MESSY.encode("utf-8"))
    with store() as s:
        summary = import_csv(s, campaign, path, default_region="US")
        assert (summary.imported, summary.rejected, summary.duplicates) == (8, 2, 1)
        assert summary.imported + summary.rejected + summary.duplicates == summary.rows == 11
        phones = set(s.scalars(select(Lead.phone_e164)))
        assert {"+31612345678", "+79161234567", "+79167654321", "+3612345678", "+33142685300",
                "+48512345678", "+442079460018", "+12025550143"} == phones
        ivan = s.scalar(select(Lead).where(Lead.phone_key == person_key(s, "+79161234567")))
        assert ivan.name == "Иван Петров" and "Europe/Moscow" in ivan.zone_list
    rejects = summary.rejects_path.read_text().splitlines()
    assert rejects[0].startswith("line,reason")
    reasons = {line.split(",")[0]: line.split(",")[1] for line in rejects[1:]}
    assert reasons["10"] == "invalid number" and reasons["11"].startswith("missing field")
    assert reasons["12"] == "duplicate"
    with store() as s:
        again = import_csv(s, campaign, path, default_region="US")
        assert (again.imported, again.already_imported, again.duplicates) == (0, 11 - 2, 0)


def test_imported_leads_read_back_as_the_models_write_them(store, tmp_path: Path):
    """The import inserts through one prepared statement, not the ORM: its rows must load like ORM rows."""
    campaign = _campaign(store)
    path = tmp_path / "fields.csv"
    path.write_text("name,phone,segment,offer\nAnna,+33 1 42 68 53 00,B,Crédit 5%\nBob,+33 1 42 68 53 01,,\n",
                    encoding="utf-8")
    due = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    with store() as s:
        import_csv(s, campaign, path, now=due)
        leads = {lead.name: lead for lead in s.scalars(select(Lead))}
        due_now = s.scalars(select(Lead.name).where(Lead.next_at == to_db(due))).all()
    anna = leads["Anna"]
    assert anna.fields == {"segment": "B", "offer": "Crédit 5%"} and leads["Bob"].fields == {}
    assert (anna.status, anna.attempts, anna.priority, anna.region) == ("new", 0, 0, "FR")
    assert as_utc(anna.next_at) == due and sorted(due_now) == ["Anna", "Bob"]  # stored as the ORM stores times


def test_cp1251_and_column_mapping(store, tmp_path: Path):
    campaign = _campaign(store)
    path = tmp_path / "ru.csv"
    path.write_bytes("ФИО,Телефон\nАнна Иванова,8 495 123-45-67\n".encode("cp1251"))
    with store() as s:
        summary = import_csv(s, campaign, path, default_region="RU", encoding="cp1251",
                             mapping={"Телефон": "phone", "ФИО": "name"})
        assert summary.imported == 1
        assert s.scalar(select(Lead.name)) == "Анна Иванова"


def test_time_zone_from_an_explicit_column_a_us_zip_code_or_the_number(store, tmp_path: Path):
    campaign = _campaign(store)
    path = tmp_path / "zones.csv"
    path.write_text("phone,zip,timezone\n"
                    "+1 202 555 0101,,America/Denver\n"
                    "+1 202 555 0102,77429,\n"
                    "+1 800 555 0199,,\n"
                    "+7 916 765 43 21,,\n"
                    "+1 202 555 0103,,Mars/Olympus\n"
                    "+979 100000000,,\n"
                    "+979 100000001,,Europe/London\n", encoding="utf-8")
    with store() as s:
        summary = import_csv(s, campaign, path)
        zones = dict(s.execute(select(Lead.phone_e164, Lead.zones)).all())
    rejects = summary.rejects_path.read_text()
    assert summary.rejected == 2 and "unknown time zone" in rejects and "non-geographic" in rejects
    assert zones["+979100000001"] == "Europe/London"  # a premium-rate number is called when the file says it may be
    assert zones["+12025550101"] == "America/Denver"  # the file says so, over the number's area code
    assert zones["+12025550102"] == "America/Chicago"  # ZIP 77429 is Cypress, Texas
    toll_free = zones["+18005550199"].split(",")
    assert "America/New_York" in toll_free and "Pacific/Honolulu" in toll_free
    assert not {"Pacific/Guam", "America/Jamaica", "America/Toronto"} & set(toll_free)  # other NANP countries
    moscow = zones["+79167654321"].split(",")
    assert "Europe/Moscow" in moscow and "Asia/Almaty" not in moscow  # Kazakhstan shares +7


def test_large_files_stream_in_committed_batches_and_a_cut_short_import_resumes(store, tmp_path: Path, monkeypatch):
    campaign = _campaign(store)
    monkeypatch.setattr(importer, "BATCH", 7)
    path = tmp_path / "big.csv"
    path.write_text("phone\n" + "".join(f"+1 202 555 {i:04d}\n" for i in range(2500)), encoding="utf-8")
    assert importer.count_rows(path) == 2500
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(path.read_text().splitlines()[:1201]) + "\n", encoding="utf-8")
    ticks: list[int] = []
    with store() as s:
        first = import_csv(s, campaign, partial, progress=ticks.append)
        assert first.imported == 1200 and sum(ticks) == 1200 and first.rejects_path is None
        resumed = import_csv(s, campaign, path)
        assert (resumed.imported, resumed.already_imported, resumed.duplicates) == (1300, 1200, 0)
        assert "1200 already imported" in resumed.line()
        assert len(set(s.scalars(select(Lead.phone_e164)))) == 2500


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["US", "NL", "RU", "HU", "FR", "PL", "GB"]),
       st.text(alphabet="0123456789", min_size=5, max_size=13), st.booleans())
@example("US", "979100000000", True)
@example("US", "0012012000000", False)  # 00 is no US prefix: once accepted as +1 201...
@example("AC", "62889", False)  # Ascension: valid, and zone.tab files its zone under Saint Helena
def test_normalise_number_agrees_with_phonenumbers_validity(region, digits, international):
    """Our single-lookup validity check must accept exactly what phonenumbers.is_valid_number accepts."""
    text = ("+" if international else "") + digits
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        expected = False
    try:
        e164, found, zones = normalise_number(text, region)
    except ValueError:
        assert not expected
    else:
        assert expected and e164.startswith("+")
        assert bool(zones) == (found != "001")  # 001: non-geographic codes such as +800 and +979
        assert set(zones) <= country_zones(found)


def _normalised(library, text: str, region: str) -> tuple[str, str, tuple[str, ...]] | str:
    with patch.object(numbers, "phonenumbers", library):
        try:
            return normalise_number(text, region)
        except ValueError:
            return "invalid"


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["US", "NL", "RU", "HU", "FR", "PL", "GB", "DE"]), st.sampled_from(["", "+", "0", "8", "00"]),
       st.text(alphabet="0123456789", min_size=5, max_size=13))
@example("US", "+", "2672450000")  # Botswana: valid for phonenumbers 9.0.43, not for 9.0.41's ranges
def test_the_fast_number_library_gives_phonenumbers_answers(region, prefix, digits):
    """rphonenumbers (the ``fast`` extra) is alpha: it must normalise every number exactly as phonenumbers does."""
    text = prefix + digits
    assert _normalised(rphonenumbers, text, region) == _normalised(phonenumbers, text, region)


def test_the_fast_library_is_used_only_with_the_phonenumbers_release_it_was_built_from(monkeypatch, caplog):
    assert numbers.number_library() is rphonenumbers  # the test extra installs a matching pair
    monkeypatch.setattr(rphonenumbers, "__phonenumbers_version__", "9.0.1")
    assert numbers.number_library() is phonenumbers
    assert "9.0.1" in caplog.text and "using phonenumbers" in caplog.text


def test_the_fast_number_library_on_the_messy_file():
    rows = [line.split(";") for line in MESSY.splitlines()[1:]]
    results = {library.__name__: [_normalised(library, phone, country or "US") for _, phone, country in rows]
               for library in (phonenumbers, rphonenumbers)}
    assert results["rphonenumbers"] == results["phonenumbers"]
    assert results["phonenumbers"].count("invalid") == 2  # "12345" and the empty phone


def test_mask_hides_the_middle_digits():
    assert mask_number("+33142685300") == "+331*****300"
    assert mask_number("+12025550143") == "+120*****143"
    assert "4268" not in mask_number("+33142685300")


def test_00_is_the_international_prefix_only_where_the_region_dials_it_so():
    """Without a region 0033... is French; with a region, that region's own prefix counts: 00 in France, but in
    the US (where it is 011) 0012012000000 is no valid number, as phonenumbers says (hypothesis found it)."""
    assert normalise_number("0033 6 12 34 56 80", None)[0] == "+33612345680"
    assert normalise_number("0033 6 12 34 56 80", "FR")[0] == "+33612345680"
    with pytest.raises(ValueError):
        normalise_number("0012012000000", "US")


def test_every_region_phonenumbers_dials_has_a_zone():
    """Ascension (+247), Tristan da Cunha and Kosovo are not in zone.tab on their own: a valid number from them
    must still get a zone (hypothesis once found +247 6000 valid and zoneless)."""
    assert all(country_zones(region) for region in phonenumbers.SUPPORTED_REGIONS)
    assert country_zones("AC") == {"Atlantic/St_Helena"} and country_zones("XK") == {"Europe/Belgrade"}
