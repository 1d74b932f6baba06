"""Write ``simulation/data/demo-leads.csv``, the list ``dialer demo`` imports: synthetic people, fictional numbers.

Why generated: the demo must show a list from several countries without a
single real person's number in the repository. Every number is one of
phonenumbers' example numbers (``example_number_for_type``: the ranges
numbering plans keep for documentation, such as the US 555-01xx) with its
last digits varied, and is kept only if ``phonenumbers.is_valid_number``
accepts it, so the importer takes it. Names are drawn from short lists of
common first and family names per country. A few rows are broken on purpose
(no number, letters, too short, a national number under the wrong country,
an unknown time zone, a repeated number) so the import's rejects file has
something to show.

Why it writes into ``simulation/data/``: the list is package data, shipped
in the wheel with the demo's scenarios, so ``dialer demo`` runs from an
install with no checkout; this generator stays an example, outside the
package.

Deterministic: the same seed writes the same file byte for byte::

    python3 examples/make_demo_leads.py            # rewrites simulation/data/demo-leads.csv
    python3 examples/make_demo_leads.py --rows 500 --out /tmp/leads.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = ["Country", "COUNTRIES", "BAD_ROWS", "HEADER", "numbers_for", "make_rows", "write_leads", "main"]

HEADER = ("name", "phone", "country", "timezone", "customer_since")
SEED = 20261124
DEFAULT_ROWS = 4000
OUT = Path(__file__).resolve().parent.parent / "simulation" / "data" / "demo-leads.csv"


@dataclass(frozen=True)
class Country:
    """A country's share of the list, the number types drawn, how many last digits vary, and its names."""

    code: str
    share: float
    types: tuple[PhoneNumberType, ...]
    varied_digits: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


COUNTRIES = (
    Country("FR", 0.55, (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE), 4,
            ("Camille", "Léa", "Manon", "Chloé", "Inès", "Louis", "Hugo", "Lucas", "Jules", "Théo", "Jeanne",
             "Arthur", "Zoé", "Nathan", "Élise"),
            ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
             "Simon", "Laurent", "Lefèvre", "Michel", "Garcia")),
    Country("BE", 0.2, (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE), 4,
            ("Emma", "Olivia", "Louise", "Noah", "Liam", "Arthur", "Lotte", "Lars", "Sofie", "Wout"),
            ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Dupont", "Lambert")),
    Country("GB", 0.23, (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE), 4,
            ("Oliver", "George", "Harry", "Amelia", "Isla", "Ava", "Jack", "Freya", "Alfie", "Poppy"),
            ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Walker", "Wright")),
    Country("US", 0.02, (PhoneNumberType.FIXED_LINE,), 2,  # 555-0100..0199: reserved for fiction
            ("James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen"),
            ("Johnson", "Miller", "Davis", "Lopez", "Clark", "Lewis", "Young", "Allen")),
)

# Broken rows, inserted at these data-row positions (0-based) so their line numbers are spread through the file.
BAD_ROWS: tuple[tuple[int, tuple[str, str, str, str, str]], ...] = (
    (17, ("Nobody Atall", "", "FR", "", "2019")),
    (402, ("Letter Number", "call me maybe", "FR", "", "2020")),
    (911, ("Short Digits", "06 12", "FR", "", "2018")),
    (1500, ("Wrong Country", "06 12 34 56 78", "US", "", "2021")),
    (2222, ("Far Away", "+33 6 12 34 00 00", "FR", "Mars/Olympus_Mons", "2017")),
    (3033, ("No Such Area", "(011) 555-0123", "US", "", "2016")),
)
_DUPLICATE_AT = 3500  # this row repeats the number of row 10 (a duplicate, also listed in the rejects)


def numbers_for(country: Country) -> list[str]:
    """Every valid E.164 number made from the country's example numbers with their last digits varied."""
    found: set[str] = set()
    for kind in country.types:
        example = phonenumbers.example_number_for_type(country.code, kind)
        national = str(example.national_number)
        stem, span = national[:-country.varied_digits], 10 ** country.varied_digits
        for tail in range(span):
            number = phonenumbers.parse(f"+{example.country_code}{stem}{tail:0{country.varied_digits}d}")
            if phonenumbers.is_valid_number(number):
                found.add(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    return sorted(found)


def _written(e164: str, rng: random.Random) -> str:
    """As people type them: half in national format (the country column says which), half in E.164."""
    if rng.random() < 0.5:
        return e164
    return phonenumbers.format_number(phonenumbers.parse(e164), PhoneNumberFormat.NATIONAL)


def _good_rows(count: int, rng: random.Random) -> Iterator[tuple[str, str, str, str, str]]:
    pools = {c.code: numbers_for(c) for c in COUNTRIES}
    for pool in pools.values():
        rng.shuffle(pool)
    weights = [c.share for c in COUNTRIES]
    for _ in range(count):
        country = rng.choices(COUNTRIES, weights)[0]
        if not pools[country.code]:
            country = COUNTRIES[0]
        name = f"{rng.choice(country.first_names)} {rng.choice(country.last_names)}"
        yield (name, _written(pools[country.code].pop(), rng), country.code, "", str(rng.randint(2012, 2024)))


def make_rows(rows: int = DEFAULT_ROWS, seed: int = SEED) -> list[tuple[str, str, str, str, str]]:
    """``rows`` data rows: the good ones with the broken ones and the duplicate at their positions."""
    rng = random.Random(seed)
    good = list(_good_rows(rows - len(BAD_ROWS) - 1, rng))
    bad = dict(BAD_ROWS)
    out: list[tuple[str, str, str, str, str]] = []
    for position in range(rows):
        if position in bad:
            out.append(bad[position])
        elif position == _DUPLICATE_AT and len(out) > 10:
            name, phone, country, zone, since = out[10]
            out.append((f"{name.split()[0]} Again", phone, country, zone, since))
        elif good:
            out.append(good.pop(0))
    return out


def write_leads(path: Path = OUT, rows: int = DEFAULT_ROWS, seed: int = SEED) -> Path:
    """Write the CSV (UTF-8, comma-separated, a header line) and return its path."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(make_rows(rows, seed))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="data rows, broken ones included")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    print(f"wrote {write_leads(args.out, args.rows, args.seed)}")


if __name__ == "__main__":
    main()
