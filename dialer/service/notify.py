"""systemd's notify protocol in a few lines: READY=1, WATCHDOG=1 and STOPPING=1 over ``$NOTIFY_SOCKET``.

Why not a dependency: the protocol is one datagram on a UNIX socket
(``sd_notify(3)``). With ``Type=notify`` systemd waits for READY=1 before it
calls the service started, and with ``WatchdogSec`` it restarts a daemon
whose event loop stops sending WATCHDOG=1 (a hung loop dials nobody but
would otherwise look alive).
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "watchdog_interval_s"]


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd; False when not run under a notify unit or on failure."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)  # a full queue on the listener's side must never stall the event loop
            sock.connect(address)
            sock.send(state.encode())
    except OSError:  # BlockingIOError included: a lost ping is better than a stalled loop
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of systemd's ``WATCHDOG_USEC`` in seconds (ping twice per period), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6
    except ValueError:
        return None
