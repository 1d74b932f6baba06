"""The daemon with its people-facing front: the API agents' desk and the HTTP application.

Why here and not in the daemon: the API sits in the layer above the service,
so the daemon is handed its front (``dialer.service.daemon.Front``) rather
than importing the API. ``serve`` is what ``dialer serve`` runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from dialer.api.app import create_app
from dialer.api.floor import AgentDesk, Floor
from dialer.service.config import Config, load_config
from dialer.service.daemon import Daemon
from dialer.service.logs import setup_logging

__all__ = ["Front", "daemon_with_front", "serve"]


class Front:
    """The consoles' side of one daemon: agents seated through the API, and the application over the floor."""

    def __init__(self) -> None:
        self.desk = AgentDesk()

    def app(self, daemon: Daemon) -> FastAPI:
        # the daemon is the API's Floor: its desk is this front's AgentDesk (a Protocol cannot say so)
        return create_app(cast(Floor, daemon), daemon.recordings)


def daemon_with_front(config: Config) -> Daemon:
    """A daemon that serves the HTTP API and the consoles."""
    return Daemon(config, Front())


def serve(config_path: Path, create: bool = False) -> int:
    """Run the daemon in the foreground until SIGTERM; returns the exit code (a start-up failure raises a
    DialerError: one line, exit 2, by the caller). ``create``: make the SQLite store if its file is missing."""
    config = replace(load_config(config_path), create_store=create)
    setup_logging(config.log_level)
    return asyncio.run(daemon_with_front(config).run())
