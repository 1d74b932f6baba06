"""The daemon's ``[asterisk]`` configuration: what a right file gives, and a wrong one named with its line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dialer.service.config import ConfigError, DriverKind, parse_config

GOOD = '''[store]
url = "sqlite:////tmp/never-opened.db"
[driver]
kind = "asterisk"
[asterisk]
app = "dialer-a"
recordings_dir = "/var/spool/asterisk/recording"
[asterisk.servers.ast1]
url = "http://10.0.0.5:8088"
password = "s3cret"
trunk_limit = 60
dial_string = "PJSIP/{number}@carrier"
[asterisk.servers.ast2]
url = "http://10.0.0.6:8088"
password = "s3cret"
[asterisk.campaigns.Loans]
safe_harbour = "dialer/loans"
trunk_limit = 20
ring_timeout_s = 20
amd_false_positive = 0.015
recording_retention_days = 30
amd_language = "nl"
'''


def parse(text: str):
    return parse_config(tomllib.loads(text), "dialer.toml", text)


def test_a_full_asterisk_section_is_read_into_typed_settings() -> None:
    config = parse(GOOD)
    assert config.driver is DriverKind.ASTERISK and config.sim is None
    a = config.asterisk
    assert a is not None and a.app == "dialer-a" and a.recordings_dir == Path("/var/spool/asterisk/recording")
    assert [(s.name, s.url, s.trunk_limit, s.dial_string) for s in a.servers] == [
        ("ast1", "http://10.0.0.5:8088", 60, "PJSIP/{number}@carrier"),
        ("ast2", "http://10.0.0.6:8088", 30, "PJSIP/{number}@trunk")]
    loans = a.campaigns["Loans"]
    assert (loans.safe_harbour, loans.trunk_limit, loans.ring_timeout_s, loans.connect_limit_s, loans.amd,
            loans.amd_false_positive, loans.recording_retention_days, loans.amd_language) == (
        "dialer/loans", 20, 20.0, 2.0, True, 0.015, 30, "nl")


@pytest.mark.parametrize("old, new, message", [
    ('ring_timeout_s = 20', 'ring_timeout_s = 10', "dialer.toml:19: [asterisk.campaigns.Loans] ring_timeout_s: "
                                                   "must be a number from 15 to 120"),
    ('safe_harbour = "dialer/loans"', 'colour = "red"', "dialer.toml:16: [asterisk.campaigns.Loans] safe_harbour: "
                                                         "is required"),
    ('trunk_limit = 60', 'trunks = 60', "dialer.toml:11: [asterisk.servers.ast1] trunks: unknown key"),
    ('dial_string = "PJSIP/{number}@carrier"', 'dial_string = "PJSIP/carrier"',
     "dialer.toml:12: [asterisk.servers.ast1] dial_string: must be a dial string with {number}"),
    ('url = "http://10.0.0.5:8088"', 'host = "10.0.0.5"', "dialer.toml:8: [asterisk.servers.ast1] url: is required"),
    ('amd_language = "nl"', 'amd_language = "de"', "dialer.toml:22: [asterisk.campaigns.Loans] amd_language: must be "
                                                   "one of en, fr, hu, nl, pl, ru"),
])
def test_a_wrong_asterisk_setting_is_named_with_its_line(old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(GOOD.replace(old, new, 1))
    assert str(caught.value).startswith(message), str(caught.value)


def test_asterisk_without_a_server_is_refused() -> None:
    text = GOOD[:GOOD.index("[asterisk.servers.ast1]")] + GOOD[GOOD.index("[asterisk.campaigns.Loans]"):]
    with pytest.raises(ConfigError, match=r"\[asterisk\] servers: needs at least one"):
        parse(text)
