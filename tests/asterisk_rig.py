"""The real-Asterisk test rig (issue 17): Asterisk in a Debian unstable chroot, SIPp customers and
baresip agents, all on loopback.

Why a rig and not a fake: the driver's outcomes come from what a real Asterisk reports (hangup
causes, AMD verdicts, bridge recordings), and only a real one shows its quirks. A fake ARI server
may test the driver's event handling quickly, never instead of this.

Layout on loopback (UDP unless said otherwise):

- Asterisk: SIP 127.0.0.1:5060, ARI/HTTP 127.0.0.1:8088 (user ``dialer``, password ``dialer``),
  RTP 20000-20999. Started by ``.ci/asterisk.sh`` (see :func:`start_asterisk`).
- Customers: one SIPp UAS on 127.0.0.1:5070 (media 6000), scenario ``tests/sip/customers.xml``.
  Asterisk reaches it as ``PJSIP/<number>@customers``; the number decides what the customer does
  (:data:`NUMBER_PLAN`).
- Agents: ``agent1``..``agent5`` are PJSIP endpoints with FIXED contacts
  ``sip:agentN@127.0.0.1:<5079 + 2N>`` (5081, 5083, ..., 5089; no registration): a baresip with
  auto-answer listens there (:func:`start_agents`). Dial ``PJSIP/agentN``; the phone answers at
  once and sends a sine tone.
- Recordings: ARI ``POST /bridges/{id}/record`` writes to ``/var/spool/asterisk/recording`` in the
  chroot, which is :func:`recordings_dir` on the host.

Everything here is for tests; nothing in ``dialer/`` imports it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / ".ci" / "asterisk.sh"
SCENARIO = REPO / "tests" / "sip" / "customers.xml"

ARI_USER = "dialer"
ARI_PASSWORD = "dialer"
ARI_APP = "dialer"
"""The Stasis application that the dialplan's AMD context enters; open the websocket with it."""
AMD_CONTEXT = "dialer-amd"
"""Originate customer calls into this context (extension ``s``, priority 1). After the answer it
runs AMD() and then ``Stasis(dialer,amd,${AMDSTATUS},${AMDCAUSE})``: the StasisStart event's
``args`` are ``["amd", "HUMAN"|"MACHINE"|"NOTSURE"|"HANGUP", "<cause>"]``. The channel variable
``DIALER_APP`` (set in originate's JSON body ``{"variables": {...}}``) names another Stasis app, so
that test runs sharing one Asterisk each get their own events."""
TRUNK = "customers"
"""PJSIP endpoint toward the customers: dial ``PJSIP/<number>@customers``."""

ASTERISK_SIP_PORT = 5060
CUSTOMER_PORT = 5070
CUSTOMER_MEDIA_PORT = 6000
AGENT_COUNT = 5
"""agent1..agent5 exist in pjsip.conf; more need lines there."""
AGENT_BASE_PORT = 5079
"""Agent n (1-based) listens on UDP 127.0.0.1:AGENT_BASE_PORT + 2n (baresip also binds TCP/TLS on
the port and the next one, hence the step of 2)."""

DEFAULT_ROOT = Path("/var/cache/dialer-asterisk/sid")


@dataclass(frozen=True)
class Behaviour:
    """What a customer does when called, and what Asterisk should report for it.

    ``causes`` are the Q.850 hangup causes Asterisk may give the dialer's channel (the
    ``cause`` of ChannelDestroyed); ``amd`` is AMD()'s AMDSTATUS when the call is answered.
    """

    digit: str
    name: str
    sip_status: int
    causes: tuple[int, ...]
    amd: str | None = None


NUMBER_PLAN: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour("1", "human", 200, (16,), amd="HUMAN"),
        Behaviour("2", "machine", 200, (16,), amd="MACHINE"),
        Behaviour("3", "busy", 486, (17,)),
        Behaviour("4", "no_answer", 487, (19,)),
        Behaviour("5", "rejected", 603, (21,)),
        Behaviour("6", "unallocated", 404, (1,)),
        Behaviour("7", "congestion", 503, (34,)),
        Behaviour("8", "unavailable", 480, (19,)),
        Behaviour("9", "unsure", 200, (16,), amd="NOTSURE"),
    )
}
"""The customers' number plan, the one place it is defined (tests/sip/customers.xml follows it).

A dialled number's LAST THREE DIGITS are ``B R T``:

- ``B``, the behaviour: the ``digit`` of an entry here (1 human, 2 machine, 3 busy, 4 never
  answers, 5 rejects, 6 unallocated, 7 congestion, 8 temporarily unavailable, 9 answers with sounds
  AMD cannot judge in its analysis time); any other digit, or
  a number without three trailing digits, is unallocated (404).
- ``R``, seconds of ringing (180 Ringing) before the final response, 0-9. Ignored by ``no_answer``,
  which rings until the dialer cancels (or 300 s).
- ``T``, for answered calls: the customer hangs up T*5 seconds after answering (1-9: 5-45 s); 0:
  the customer waits for the dialer's BYE (and hangs up by itself after 120 s).

Whatever comes before the last three digits is free (a campaign can use distinct prefixes so each
lead has its own number): see :func:`customer_number`.

Audio: a human says "Hello?" 0.2 s after answering, then is silent 3 s (AMD: HUMAN within about
1.5 s of the answer), then says a sentence, then is silent (about 15 s in all). A machine speaks a
greeting of about 12 s without pause (AMD: MACHINE). Both are G.711 u-law RTP from SIPp's
``play_pcap_audio``.

Causes seen from the rig's Asterisk 22 are in ``causes``. For answered calls that is 16 when the
dialer hangs up, or when the customer hangs up while bridged; but when the customer hangs up while
its channel sits in Stasis in no bridge, ChannelDestroyed says 0 (tests/test_asterisk_rig.py).
"""


def customer_number(behaviour: str, ring_s: int = 0, talk: int = 0, prefix: str = "0700900") -> str:
    """A number that makes the rig's customer do ``behaviour`` (a :data:`NUMBER_PLAN` key).

    ``ring_s`` is seconds of ringing before the final response (0-9); ``talk`` is the T digit
    (hang up after ``talk * 5`` s, 0 = wait for the dialer). ``prefix`` only keeps numbers apart.
    """
    if not 0 <= ring_s <= 9 or not 0 <= talk <= 9:
        raise ValueError("ring_s and talk are single digits")
    return f"{prefix}{NUMBER_PLAN[behaviour].digit}{ring_s}{talk}"


def behaviour_of(number: str) -> Behaviour:
    """The behaviour that :data:`NUMBER_PLAN` gives ``number`` (unallocated when it fits none)."""
    if len(number) >= 3 and number[-3:].isdigit():
        for b in NUMBER_PLAN.values():
            if b.digit == number[-3]:
                return b
    return NUMBER_PLAN["unallocated"]


# --- Asterisk ------------------------------------------------------------------------------------


def asterisk_root() -> Path:
    """The chroot on the host (``DIALER_ASTERISK_ROOT``, default /var/cache/dialer-asterisk/sid)."""
    return Path(os.environ.get("DIALER_ASTERISK_ROOT", str(DEFAULT_ROOT)))


def recordings_dir() -> Path:
    """Where ARI's recordings land on the host (``/var/spool/asterisk/recording`` in the chroot)."""
    return asterisk_root() / "var" / "spool" / "asterisk" / "recording"


def asterisk_log() -> Path:
    """Asterisk's messages.log on the host (verbose 3: dialplan, AMD verdicts, SIP failures)."""
    return asterisk_root() / "var" / "log" / "asterisk" / "messages.log"


LOCK_WAIT_S = 900.0
"""How long a rig user waits for another process to let go of the rig (seconds)."""

_lock_file: IO[str] | None = None
_lock_depth = 0


def hold_rig(timeout_s: float = LOCK_WAIT_S) -> None:
    """Take the rig for this process (re-entrant; :func:`release_rig` undoes one hold).

    Why: the customer side and the agents' phones listen on fixed ports, so two processes (two
    pytest-xdist workers, or two engineers' test runs on one machine) must take turns. A flock on
    ``<root>.lock`` beside the chroot; waits up to ``timeout_s`` seconds, then raises TimeoutError.
    :func:`start_customers` and :func:`start_agents` hold it until their ``stop()``.
    """
    global _lock_file, _lock_depth
    if _lock_depth == 0:
        path = Path(f"{asterisk_root()}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    f.close()
                    raise TimeoutError(f"the Asterisk rig is held by another process ({path})") from None
                time.sleep(0.2)
        _lock_file = f
    _lock_depth += 1


def release_rig() -> None:
    """Undo one :func:`hold_rig`; the last one lets other processes have the rig."""
    global _lock_file, _lock_depth
    if _lock_depth == 0:
        return
    _lock_depth -= 1
    if _lock_depth == 0 and _lock_file is not None:
        fcntl.flock(_lock_file, fcntl.LOCK_UN)
        _lock_file.close()
        _lock_file = None


@contextlib.contextmanager
def exclusive(timeout_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the rig for the ``with`` block (see :func:`hold_rig`): for a test module that starts
    customers and agents and wants no other process's calls in between."""
    hold_rig(timeout_s)
    try:
        yield
    finally:
        release_rig()


def start_asterisk(timeout_s: float = 1200.0) -> str:
    """Start the rig's Asterisk (building the chroot on first use) and return the ARI base URL.

    A cold build (debootstrap plus the asterisk packages) takes a few minutes; a warm start about
    a second. Raises RuntimeError with the script's messages if it cannot: a test that needs
    Asterisk must fail, not skip, when it is absent.
    """
    proc = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    url = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not url.startswith("http"):
        raise RuntimeError(
            f".ci/asterisk.sh failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return url


def stop_asterisk() -> None:
    """Stop the rig's Asterisk and unmount the chroot's /proc and /dev (the tree stays cached)."""
    subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=60, check=False)


def asterisk_pid() -> int | None:
    """The running Asterisk's process id (from its pid file in the chroot), None if it is not running."""
    try:
        pid = int((asterisk_root() / "run" / "asterisk" / "asterisk.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def shut_down_asterisk() -> None:
    """Asterisk's own shutdown (``core stop now``: it hangs up every call first), leaving the chroot mounted
    for :func:`start_asterisk` to start it again."""
    pid = asterisk_pid()
    subprocess.run(["chroot", str(asterisk_root()), "/usr/sbin/asterisk", "-rx", "core stop now"],
                   capture_output=True, timeout=30, check=False)
    _wait_gone(pid)


def kill_asterisk() -> None:
    """A crash: SIGKILL, so Asterisk says nothing to anyone (no BYE, no event)."""
    pid = asterisk_pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)


def _wait_gone(pid: int | None, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pid is not None and Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Asterisk (pid {pid}) still runs after {timeout_s} s")
        time.sleep(0.05)


def list_recordings(suffix: str = "") -> list[Path]:
    """Recording files on the host, oldest first; ``suffix`` filters by ending (e.g. ``.wav``)."""
    d = recordings_dir()
    if not d.is_dir():
        return []
    files = [p for p in d.rglob("*") if p.is_file() and p.name.endswith(suffix)]
    return sorted(files, key=lambda p: p.stat().st_mtime)


def install_sound(name: str, text: str) -> str:
    """Speak ``text`` (espeak-ng) into a u-law file Asterisk can play, return its ARI media URI.

    Why: the safe-harbour message is a recorded file per campaign; a test can make one. The file is
    ``/usr/share/asterisk/sounds/dialer/<name>.ulaw`` in the chroot (Asterisk falls back to the
    language-less directory), played as ``sound:dialer/<name>``. (``sounds/en`` is an absolute
    symlink, which the host cannot follow into the chroot.)
    """
    ulaw = _speak(text)
    d = asterisk_root() / "usr" / "share" / "asterisk" / "sounds" / "dialer"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.ulaw").write_bytes(ulaw)
    return f"sound:dialer/{name}"


# --- Audio for the customers ---------------------------------------------------------------------

ULAW_SILENCE = b"\xff"
"""G.711 u-law encodes zero as 0xFF."""
SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000

HUMAN_HELLO = "Hello?"
HUMAN_SENTENCE = "Yes, speaking. Who is calling, please?"
MACHINE_GREETING = (
    "Hello, you have reached the voicemail of Alex Morgan at the accounts department "
    "I am not able to take your call right now so please leave your name your number and "
    "a short message after the tone and I will call you back as soon as I can thank you"
)


def _speak(text: str, words_per_minute: int = 165) -> bytes:
    """``text`` spoken by espeak-ng, as 8 kHz mono G.711 u-law bytes (no header)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        raw = Path(tmp) / "speech.ul"
        subprocess.run(
            ["sox", str(wav), "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law", "-t", "ul",
             str(raw), "norm", "-3"],
            check=True,
            capture_output=True,
        )
        return raw.read_bytes()


def _silence(seconds: float) -> bytes:
    return ULAW_SILENCE * int(seconds * SAMPLE_RATE)


def human_audio() -> bytes:
    """What a live person says on answering: 0.2 s silence, "Hello?", 3 s silence, a sentence,
    then silence to 15 s. AMD hears one short word and 800 ms of silence: HUMAN."""
    audio = _silence(0.2) + _speak(HUMAN_HELLO) + _silence(3.0) + _speak(HUMAN_SENTENCE)
    return audio + _silence(max(0.0, 15.0 - len(audio) / SAMPLE_RATE))


def machine_audio() -> bytes:
    """An answering machine: 0.2 s silence, then a greeting of about 12 s spoken without pauses.
    AMD hears a greeting longer than 1.5 s or more than 2 words: MACHINE."""
    return _silence(0.2) + _speak(MACHINE_GREETING, words_per_minute=190) + _silence(1.0)


def unsure_audio() -> bytes:
    """Sounds AMD cannot judge within its 5 s analysis time (``amd.conf``): 2 s of silence (under its 2.5 s
    initial silence), a 1 s tone (one word, under its 1.5 s greeting), then 60 ms blips every 0.66 s (too
    short for words, and the silences between them under its 0.8 s after-greeting silence): NOTSURE."""
    blip = _tone(0.06) + _silence(0.6)
    return _silence(2.0) + _tone(1.0) + _silence(0.6) + blip * 6 + _silence(2.0)


def _tone(seconds: float, hz: float = 440.0) -> bytes:
    """A sine tone as 8 kHz u-law bytes."""
    raw = subprocess.run(["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law", "-t", "ul", "-",
                          "synth", f"{seconds}", "sine", f"{hz}", "vol", "0.5"],
                         check=True, capture_output=True).stdout
    return raw


def write_rtp_pcap(path: Path, ulaw: bytes, src_port: int = CUSTOMER_MEDIA_PORT) -> None:
    """Write ``ulaw`` as a pcap of RTP packets (payload type 0, 20 ms each) for SIPp's
    ``play_pcap_audio``, which replays them to the call's remote media address at their pace."""
    if len(ulaw) % FRAME_BYTES:
        ulaw += ULAW_SILENCE * (FRAME_BYTES - len(ulaw) % FRAME_BYTES)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ssrc = 0x5EED1234
    for i in range(len(ulaw) // FRAME_BYTES):
        payload = ulaw[i * FRAME_BYTES : (i + 1) * FRAME_BYTES]
        rtp = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0x00, i & 0xFFFF,
                          (i * FRAME_BYTES) & 0xFFFFFFFF, ssrc) + payload
        udp = struct.pack("!HHHH", src_port, 20000, 8 + len(rtp), 0) + rtp
        ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                                socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
        checksum = _ip_checksum(ip_header)
        ip_header = ip_header[:10] + struct.pack("!H", checksum) + ip_header[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip_header + udp
        t_us = i * FRAME_MS * 1000
        out.append(struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)))
        out.append(frame)
    path.write_bytes(b"".join(out))


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# --- The customers' own packet capture ------------------------------------------------------------


def _ulaw_to_linear(byte: int) -> int:
    """One G.711 u-law byte as a 16-bit linear sample (ITU-T G.711)."""
    u = ~byte & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)


_ULAW = [_ulaw_to_linear(b) for b in range(256)]
VOICE_RMS = 500.0
"""A 20 ms u-law frame louder than this (RMS, 16-bit linear) is sound; espeak's speech and the test tones are
thousands, the silence byte 0xff is 0."""


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet on the customers' media port: when it was captured (epoch seconds), whether the customer
    sent it (else the customer received it), and its payload's loudness (RMS)."""

    at: float
    sent: bool
    rms: float

    @property
    def voiced(self) -> bool:
        return self.rms > VOICE_RMS


class MediaCapture:
    """A packet capture on loopback of the RTP to and from the customers' media port (:data:`CUSTOMER_MEDIA_PORT`),
    as the customer's side sees it: what it said (sent) and what reached it (received), with capture times.

    Why a capture and not Asterisk's word: the connect limit is about what the person hears and when, and only
    the customer's side of the wire shows that. Needs root (an ``AF_PACKET`` socket); one call at a time on the
    port makes the packets one call's."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtp-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, (_, _, kind, *_) = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if kind == socket.PACKET_OUTGOING:  # loopback shows each packet twice: keep the incoming copy
                continue
            packet = self._rtp(frame, time.time())
            if packet is not None:
                self.packets.append(packet)

    @staticmethod
    def _rtp(frame: bytes, at: float) -> RtpPacket | None:
        if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 17:
            return None
        ip_len = (frame[14] & 0x0F) * 4
        src, dst = struct.unpack("!HH", frame[14 + ip_len:14 + ip_len + 4])
        if CUSTOMER_MEDIA_PORT not in (src, dst):
            return None
        payload = frame[14 + ip_len + 8 + 12:]
        rms = (sum(_ULAW[b] ** 2 for b in payload) / len(payload)) ** 0.5 if payload else 0.0
        return RtpPacket(at, src == CUSTOMER_MEDIA_PORT, rms)

    def stop(self) -> list[RtpPacket]:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()
        return self.packets

    def __enter__(self) -> MediaCapture:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- Customers (SIPp) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerEvent:
    """One line of the customers' log: at ``at`` (epoch seconds) the customer called ``number``
    (SIP Call-ID ``call_id``) did ``event``: ``invite``, ``answered``, ``busy``, ``rejected``,
    ``unallocated``, ``congestion``, ``unavailable``, ``cancelled``, ``bye_from_dialer``,
    ``bye_from_customer``, ``end``; ``detail`` is the SIP status sent, or for ``invite`` the B R T
    digits and the caller ID's user part from the From header (e.g. ``"120 441234567890"``)."""

    at: float
    call_id: str
    number: str
    event: str
    detail: str


@dataclass
class Customers:
    """The SIPp customer UAS, serving every number of the plan on 127.0.0.1:5070.

    Why one process: a campaign dials many numbers at once, and each number's last digits choose
    what that customer does, so a test needs no per-call setup.
    """

    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    error_path: Path
    _released: bool = field(default=False, repr=False)

    def events(self) -> list[CustomerEvent]:
        """Everything the customers did so far, in log order."""
        if not self.log_path.exists():
            return []
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[0] == "CUSTOMER":
                at = float(parts[1]) + float(parts[2]) / 1e6
                detail = " ".join(parts[6:])
                out.append(CustomerEvent(at, parts[3], parts[4], parts[5], detail))
        return out

    def outcomes(self) -> dict[str, list[str]]:
        """For each dialled number, the customer's events in order (``invite`` and ``end``
        left out): e.g. ``{"0700900120": ["answered", "bye_from_dialer"]}``."""
        out: dict[str, list[str]] = {}
        for e in self.events():
            if e.event not in ("invite", "end"):
                out.setdefault(e.number, []).append(e.event)
        return out

    def wait_for(self, number: str, event: str, timeout_s: float = 30.0) -> CustomerEvent:
        """Wait until the customer called ``number`` logs ``event``; return that event."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for e in self.events():
                if e.number == number and e.event == event:
                    return e
            time.sleep(0.1)
        raise TimeoutError(f"customer {number} did not log {event!r} in {timeout_s} s: "
                           f"{self.outcomes().get(number)}")

    def stop(self) -> None:
        """Stop SIPp (SIGTERM, then SIGKILL after 5 s) and let go of the rig."""
        _terminate(self.process)
        if not self._released:
            self._released = True
            release_rig()


def start_customers(workdir: Path | None = None) -> Customers:
    """Start the SIPp customer UAS on 127.0.0.1:5070 with the plan's audio.

    ``workdir`` (default: a new temporary directory) receives human.pcap, machine.pcap, SIPp's
    log of customer events (customers.log) and its error log. Holds the rig (:func:`hold_rig`,
    waiting for another process's customers to stop) until :meth:`Customers.stop`. Raises
    RuntimeError if SIPp exits or the port is taken by something that does not hold the rig.
    """
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester; .ci/asterisk.sh installs it)")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="dialer-customers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    write_rtp_pcap(workdir / "human.pcap", human_audio())
    write_rtp_pcap(workdir / "machine.pcap", machine_audio())
    write_rtp_pcap(workdir / "unsure.pcap", unsure_audio())
    shutil.copy(SCENARIO, workdir / "customers.xml")
    log_path = workdir / "customers.log"
    error_path = workdir / "errors.log"
    cmd = [
        sipp, "-sf", "customers.xml",
        "-i", "127.0.0.1", "-p", str(CUSTOMER_PORT),
        "-mi", "127.0.0.1", "-mp", str(CUSTOMER_MEDIA_PORT),
        "-nostdin", "-trace_logs", "-log_file", str(log_path),
        "-trace_err", "-error_file", str(error_path),
        "-max_socket", "1000",
    ]
    hold_rig()
    try:
        _require_free_udp_port(CUSTOMER_PORT, "SIPp customers")
        proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        _wait_for_udp_listener(CUSTOMER_PORT, proc, "SIPp customers", error_path)
    except BaseException:
        release_rig()
        raise
    customers = Customers(workdir, proc, log_path, error_path)
    atexit.register(customers.stop)  # a test that dies before stop() leaves no SIPp behind
    return customers


# --- Agents (baresip) ----------------------------------------------------------------------------


@dataclass
class Agent:
    """One agent's phone: a baresip that auto-answers on 127.0.0.1:``port`` and sends a tone.

    ``endpoint`` is what ARI dials (``PJSIP/agentN``).
    """

    number: int
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    endpoint: str = field(init=False)
    _released: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.endpoint = f"PJSIP/agent{self.number}"

    def stop(self) -> None:
        """Stop this baresip (SIGTERM, then SIGKILL after 5 s) and let go of the rig."""
        _terminate(self.process)
        if not self._released:
            self._released = True
            release_rig()


BARESIP_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{port}
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,nowhere
audio_source\t\tausine,{tone_hz}
audio_alert\t\taubridge,nowhere
ausrc_srate\t\t48000
ausrc_channels\t\t2
auplay_srate\t\t48000
rtp_ports\t\t{rtp_low}-{rtp_high}
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\tausine.so
module\t\t\taubridge.so
module_app\t\taccount.so
module_app\t\tmenu.so
"""


def agent_port(n: int) -> int:
    """The UDP port of agent ``n``'s phone (1-based): 5081, 5083, ..., 5089."""
    return AGENT_BASE_PORT + 2 * n


def start_agents(count: int, workdir: Path | None = None) -> list[Agent]:
    """Start ``count`` (1-5) baresip phones for agent1..agentN with auto-answer, each on
    127.0.0.1:``agent_port(N)``, sending a sine tone (440 Hz + 100 Hz * N) so recordings have sound.

    No registration: pjsip.conf gives each agent endpoint a fixed contact, so a phone is
    reachable as soon as it listens. Each agent holds the rig (:func:`hold_rig`) until its
    ``stop()``. Raises RuntimeError if a baresip does not come up.
    """
    if not 1 <= count <= AGENT_COUNT:
        raise ValueError(f"the rig has agent1..agent{AGENT_COUNT}")
    baresip = shutil.which("baresip")
    if baresip is None:
        raise RuntimeError("baresip is not installed (.ci/asterisk.sh installs it)")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="dialer-agents-"))
    agents = []
    try:
        for n in range(1, count + 1):
            port = agent_port(n)
            d = workdir / f"agent{n}"
            d.mkdir(parents=True, exist_ok=True)
            rtp_low = 30000 + 100 * n
            (d / "config").write_text(BARESIP_CONFIG.format(
                port=port, tone_hz=440 + 100 * n, rtp_low=rtp_low, rtp_high=rtp_low + 99))
            (d / "accounts").write_text(
                f"<sip:agent{n}@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU\n")
            (d / "contacts").write_text("")
            log_path = d / "baresip.log"
            hold_rig()
            try:
                _require_free_udp_port(port, f"baresip agent{n}")
                with log_path.open("wb") as log:
                    proc = subprocess.Popen([baresip, "-f", str(d)], cwd=d, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
            except BaseException:
                release_rig()
                raise
            agent = Agent(n, port, proc, d, log_path)
            atexit.register(agent.stop)
            agents.append(agent)
            _wait_for_udp_listener(port, proc, f"baresip agent{n}", log_path)
    except BaseException:
        for a in agents:
            a.stop()
        raise
    return agents


def stop_agents(agents: list[Agent]) -> None:
    """Stop every baresip in ``agents``."""
    for a in agents:
        a.stop()


# --- Processes -----------------------------------------------------------------------------------


def _udp_port_bound(port: int) -> bool:
    """True if something is bound to UDP 127.0.0.1:``port`` (binding it ourselves fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _require_free_udp_port(port: int, what: str) -> None:
    if _udp_port_bound(port):
        raise RuntimeError(f"UDP 127.0.0.1:{port} is taken before starting {what} "
                           "(a leftover from another run?)")


def _wait_for_udp_listener(port: int, proc: subprocess.Popen[bytes], what: str, log: Path,
                           timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{text}")
        if _udp_port_bound(port):
            time.sleep(0.2)
            return
        time.sleep(0.05)
    _terminate(proc)
    raise RuntimeError(f"{what} did not listen on UDP 127.0.0.1:{port} in {timeout_s} s")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
