"""AMD's false positives (a person called a machine: hung up on, a UK abandon) and false negatives (a machine
put through to an agent) per language, on the synthetic corpus of ``benchmarks.amd_corpus``, through the rig's
real Asterisk 22 (``.ci/asterisk.sh``).

How: each greeting is a call ``Local/<n>@dialer-amd-corpus`` whose far half answers and plays it; the near half
runs the dialplan's ``dialer-amd`` with ``DIALER_AMD_ARGS`` (the settings measured, ``AMD()``'s arguments) and
enters a Stasis application with AMD's verdict, as a customer's call does. AMD listens in real time, so calls
run ``--parallel`` at once. The 95% upper bounds are Clopper-Pearson's. It is a benchmark, not a CI test.

Run (the rig's Asterisk up): python -m benchmarks.amd [--per-kind 100] [--parallel 20] [--settings shipped,names]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from scipy.stats import beta
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.amd_corpus import LANGUAGES, Greeting, make_corpus  # noqa: E402
from dialer.drivers.asterisk import AMD_DEFAULTS, AMD_SETTINGS, AmdSettings  # noqa: E402
from tests import asterisk_rig as rig  # noqa: E402

__all__ = ["Verdicts", "measure", "upper_95"]

CORPUS_IN_CHROOT = "var/lib/asterisk/sounds/dialer/corpus"


def upper_95(k: int, n: int) -> float:
    """Clopper-Pearson's one-sided 95% upper bound on a rate seen ``k`` times in ``n``."""
    return 1.0 if k >= n else float(beta.ppf(0.95, k + 1, n - k))


@dataclass
class Verdicts:
    """AMDSTATUS counts for one language's person greetings and machine greetings."""

    person: Counter[str]
    machine: Counter[str]

    def row(self, language: str, settings: str) -> str:
        n_p, n_m = sum(self.person.values()), sum(self.machine.values())
        fp, fn = self.person["MACHINE"], n_m - self.machine["MACHINE"]
        return (f"| {language} | {settings} | {fp}/{n_p} = {fp / n_p:.1%} | {upper_95(fp, n_p):.1%} | "
                f"{fn}/{n_m} = {fn / n_m:.1%} | {upper_95(fn, n_m):.1%} | {self.person['NOTSURE']} |")


async def _verdict(http: httpx.AsyncClient, events: dict[str, asyncio.Future[list[str]]], app: str,
                   greeting: Greeting, args: str) -> str:
    channel = f"{app}-{uuid.uuid4().hex[:12]}"
    events[channel] = asyncio.get_running_loop().create_future()
    response = await http.post("/channels", params={
        "endpoint": f"Local/{greeting.path.name}@dialer-amd-corpus", "context": "dialer-amd", "extension": "s",
        "priority": 1, "channelId": channel}, json={"variables": {"DIALER_APP": app, "DIALER_AMD_ARGS": args}})
    response.raise_for_status()
    try:
        said = await asyncio.wait_for(events[channel], 30)
    finally:
        del events[channel]
        await http.delete(f"/channels/{channel}")
    return said[1] if len(said) > 1 else "NONE"


async def measure(url: str, corpus: list[Greeting], settings: Callable[[str], AmdSettings], parallel: int
                  ) -> dict[str, Verdicts]:
    """Every greeting's verdict under ``settings(language)``, by language."""
    app = f"amd-bench-{uuid.uuid4().hex[:6]}"
    events: dict[str, asyncio.Future[list[str]]] = {}
    token = httpx.BasicAuth(rig.ARI_USER, rig.ARI_PASSWORD)
    base = url.replace("http://", "ws://")
    auth = {"Authorization": token._auth_header}
    async with connect(f"{base}/ari/events?app={app}", additional_headers=auth, proxy=None) as ws, \
            httpx.AsyncClient(base_url=f"{url}/ari", auth=token, timeout=30, trust_env=False) as http:
        async def listen() -> None:
            async for message in ws:
                event = json.loads(message)
                channel = (event.get("channel") or {}).get("id", "")
                if event.get("type") == "StasisStart" and channel in events and not events[channel].done():
                    events[channel].set_result(list(event.get("args", [])))

        listener = asyncio.create_task(listen())
        gate = asyncio.Semaphore(parallel)

        async def one(greeting: Greeting) -> tuple[Greeting, str]:
            async with gate:
                return greeting, await _verdict(http, events, app, greeting, settings(greeting.language).args)

        results = await asyncio.gather(*(one(g) for g in corpus))
        listener.cancel()
    out = {language: Verdicts(Counter(), Counter()) for language in {g.language for g in corpus}}
    for greeting, status in results:
        (out[greeting.language].person if greeting.person else out[greeting.language].machine)[status] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settings", default="shipped", help=f"shipped (each language's AMD_DEFAULTS) or any of "
                                                               f"{', '.join(AMD_SETTINGS)}, comma-separated")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    args = parser.parse_args()
    url = rig.start_asterisk()
    folder = rig.asterisk_root() / CORPUS_IN_CHROOT
    shutil.rmtree(folder, ignore_errors=True)
    corpus = make_corpus(folder, args.per_kind, args.seed, tuple(args.languages.split(",")))
    print("| language | settings | false positives (persons hung up on) | 95% upper | false negatives (machines "
          "put through) | 95% upper | persons not sure |")
    print("|---|---|---|---|---|---|---|")
    for name in args.settings.split(","):
        started = time.monotonic()
        chosen = AMD_DEFAULTS.__getitem__ if name == "shipped" else (lambda _, s=AMD_SETTINGS[name]: s)
        verdicts = asyncio.run(measure(url, corpus, chosen, args.parallel))
        for language in sorted(verdicts):
            print(verdicts[language].row(language, name), flush=True)
        print(f"<!-- {name}: {len(corpus)} calls in {time.monotonic() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
