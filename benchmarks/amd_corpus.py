"""A synthetic corpus of answers for the AMD benchmark: person greetings and answering-machine greetings, spoken by
espeak-ng in nl, fr, pl, hu, ru and en, as 8 kHz u-law files Asterisk plays.

Why synthetic, and what that means: real recordings of people answering are personal data we do not hold. The
greetings follow how people answer in each language (a short "Hello?", the answer with a name, "Met Jan de
Vries", "Słucham, Anna Nowak", and greetings of a few words), said at varied speeds and pitches after a short
silence; the machines' are voicemail announcements of several sentences. A synthetic voice has no breath, no
line noise and no room: the rates measured on it say how the AMD settings treat the *shape* of each language's
greetings (how many words, how long, how many pauses), not how a real line sounds. ``benchmarks/README.md`` says
so beside the figures.

Run: python -m benchmarks.amd_corpus OUT_DIR [--per-kind 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "Greeting", "make_corpus"]

SAMPLE_RATE = 8000
VOICES = {"nl": "nl", "fr": "fr-fr", "pl": "pl", "hu": "hu", "ru": "ru", "en": "en-gb"}
NAMES = {
    "nl": ["Jan de Vries", "Sanne Bakker", "Pieter Jansen", "Eva Visser", "Daan Smit", "Lotte Mulder"],
    "fr": ["Marie Dubois", "Pierre Martin", "Sophie Bernard", "Luc Petit", "Claire Moreau", "Hugo Laurent"],
    "pl": ["Anna Nowak", "Piotr Kowalski", "Katarzyna Wiśniewska", "Tomasz Wójcik", "Ewa Lewandowska"],
    "hu": ["Kovács Péter", "Nagy Anna", "Szabó László", "Tóth Eszter", "Horváth Gábor"],
    "ru": ["Иван Петров", "Анна Смирнова", "Сергей Иванов", "Ольга Кузнецова", "Дмитрий Попов"],
    "en": ["Sam Carter", "Emma Wilson", "James Brown", "Olivia Taylor", "Harry Evans", "Sophie Hughes"],
}
PERSON = {  # {name}: a full name; {first}: a first name (the first word of a name in most, the last in hu)
    "nl": ["Hallo?", "Met {name}.", "Met {first}.", "Ja, hallo?", "Goedemiddag, met {name}.", "Hallo, met {first}?"],
    "fr": ["Allô?", "Oui, allô?", "Bonjour!", "{name}, j'écoute.", "Allô, {first} à l'appareil.", "Oui?"],
    "pl": ["Halo?", "Słucham.", "Tak, słucham?", "Słucham, {name}.", "Dzień dobry, {first} przy telefonie."],
    "hu": ["Halló?", "Tessék.", "Igen, tessék?", "{name}, tessék.", "Jó napot, {name} vagyok."],
    "ru": ["Алло?", "Да?", "Слушаю.", "Алло, {name} слушает.", "Да, {first}, слушаю."],
    "en": ["Hello?", "Hi.", "Yes?", "{name} speaking.", "Good afternoon, {name} speaking.", "Hello, it's {first}."],
}
MACHINE = {
    "nl": ["Hallo, u spreekt met de voicemail van {name}. Ik ben op dit moment niet bereikbaar. Laat een bericht "
           "achter na de piep, dan bel ik u zo snel mogelijk terug.",
           "Welkom bij de voicemail van {name}. Spreek na de toon uw naam en nummer in."],
    "fr": ["Bonjour, vous êtes bien sur la messagerie de {name}. Je ne suis pas disponible pour le moment, "
           "laissez-moi un message après le bip et je vous rappellerai.",
           "Vous êtes sur le répondeur de {name}, merci de laisser votre message après le signal sonore."],
    "pl": ["Dzień dobry, dodzwoniłeś się do poczty głosowej {name}. Nie mogę teraz odebrać, zostaw wiadomość "
           "po sygnale, oddzwonię najszybciej jak to możliwe.",
           "Abonent {name} jest chwilowo niedostępny. Proszę nagrać wiadomość po sygnale."],
    "hu": ["Jó napot, {name} hangpostáját hívta. Jelenleg nem tudom fogadni a hívását, kérem hagyjon üzenetet "
           "a sípszó után, és visszahívom.",
           "A hívott fél, {name}, jelenleg nem elérhető. Kérem, hagyjon üzenetet a hangjelzés után."],
    "ru": ["Здравствуйте, вы позвонили {name}. Я сейчас не могу ответить, оставьте сообщение после сигнала, "
           "и я вам перезвоню.",
           "Абонент {name} сейчас не может ответить. Оставьте, пожалуйста, сообщение после звукового сигнала."],
    "en": ["Hi, you've reached {name}. I can't take your call right now, so please leave your name and number "
           "after the tone and I'll call you back.",
           "The person you are calling, {name}, is not available. Please leave a message after the tone."],
}
LANGUAGES = tuple(VOICES)


@dataclass(frozen=True)
class Greeting:
    """One answer of the corpus: its language, whether a person says it (else a machine), its file (no
    extension, u-law) and its text."""

    language: str
    person: bool
    path: Path
    text: str


def _first(language: str, name: str) -> str:
    return name.split()[-1] if language == "hu" else name.split()[0]


def _text(rng: random.Random, language: str, person: bool) -> str:
    name = rng.choice(NAMES[language])
    template = rng.choice((PERSON if person else MACHINE)[language])
    return template.format(name=name, first=_first(language, name))


def _speak(text: str, voice: str, speed: int, pitch: int, lead_s: float, out: Path) -> None:
    """``text`` as 8 kHz u-law in ``out``, after ``lead_s`` seconds of silence (the phone reaching the ear), and
    4 s of silence after it (a person waits for an answer; a machine's beep is left out)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                       check=True, capture_output=True)
        subprocess.run(["sox", str(wav), "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law", "-t", "ul", str(out),
                        "norm", "-3", "pad", f"{lead_s:.2f}", "4"], check=True, capture_output=True)


def make_corpus(out: Path, per_kind: int = 100, seed: int = 7, languages: tuple[str, ...] = LANGUAGES
                ) -> list[Greeting]:
    """``per_kind`` person and ``per_kind`` machine greetings per language in ``out`` (files ``<n>.ulaw``, numbered
    so that a dialplan extension can name them); the same ``seed`` gives the same corpus."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    corpus = []
    for language in languages:
        for person in (True, False):
            for _ in range(per_kind):
                text = _text(rng, language, person)
                path = out / str(100000 + len(corpus))
                _speak(text, VOICES[language], rng.randint(140, 200), rng.randint(30, 70), rng.uniform(0.1, 0.6),
                       path.with_suffix(".ulaw"))
                corpus.append(Greeting(language, person, path, text))
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    corpus = make_corpus(args.out, args.per_kind, args.seed)
    print(f"{len(corpus)} greetings in {args.out}")


if __name__ == "__main__":
    main()
