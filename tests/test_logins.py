"""Logins: back-off per account and address, per account and per address, never one address for all; an unknown
user costs the same scrypt call as a known one; forwarded headers believed only from trusted proxies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from dialer.api.auth import ACCOUNT, ADDRESS, PAIR, LoginLimiter
from dialer.api.errors import TooManyRequests
from dialer.service.users import Role, add_user, verify_login
from tests.api_helpers import PASSWORD, make_users
from tests.daemon_helpers import make_config, make_scenario, make_store, start_daemon


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(limiter: LoginLimiter, account: str, address: str, times: int) -> None:
    for _ in range(times):
        limiter.check(account, address)
        limiter.failed(account, address)


def test_one_persons_typos_back_off_that_account_from_that_address_only() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock)
    _fail(limiter, "alice", "10.0.0.1", PAIR.free)
    with pytest.raises(TooManyRequests) as first:
        limiter.check("alice", "10.0.0.1")
    assert first.value.retry_after_s == pytest.approx(PAIR.base_s)
    limiter.check("bob", "10.0.0.1")  # the colleague behind the same proxy logs in
    limiter.check("alice", "10.0.0.2")  # and alice from her phone
    clock.now += PAIR.base_s
    limiter.check("alice", "10.0.0.1")
    limiter.failed("alice", "10.0.0.1")
    with pytest.raises(TooManyRequests) as second:
        limiter.check("alice", "10.0.0.1")
    assert second.value.retry_after_s == pytest.approx(2 * PAIR.base_s)  # the back-off doubles


def test_a_guess_spread_over_addresses_backs_off_the_account() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock)
    for k in range(ACCOUNT.free):
        limiter.check("alice", f"10.1.0.{k}")
        limiter.failed("alice", f"10.1.0.{k}")
    with pytest.raises(TooManyRequests):
        limiter.check("alice", "10.9.9.9")
    limiter.check("bob", "10.9.9.9")


def test_spraying_many_accounts_from_one_address_backs_off_the_address_and_success_clears_the_account() -> None:
    clock = Clock()
    limiter = LoginLimiter(clock)
    for k in range(ADDRESS.free - 1):
        limiter.check(f"user{k}", "10.2.0.1")
        limiter.failed(f"user{k}", "10.2.0.1")
    limiter.check("someone", "10.2.0.1")  # 99 failures spread over accounts: still allowed
    limiter.failed("someone", "10.2.0.1")
    with pytest.raises(TooManyRequests):
        limiter.check("anyone", "10.2.0.1")
    clock.now += ADDRESS.forget_s
    limiter.check("anyone", "10.2.0.1")  # forgotten after the quiet spell
    _fail(limiter, "carol", "10.3.0.1", PAIR.free)
    limiter.succeeded("carol", "10.3.0.1")
    limiter.check("carol", "10.3.0.1")


def test_an_unknown_user_costs_the_same_one_scrypt_call_as_a_known_one(store, monkeypatch) -> None:
    with store() as session:
        add_user(session, "known", Role.AGENT, datetime.now(UTC), PASSWORD)
        disabled = add_user(session, "gone", Role.AGENT, datetime.now(UTC), PASSWORD)
        disabled.disabled = True
        add_user(session, "token-only", Role.AGENT, datetime.now(UTC))
        session.commit()
    real = hashlib.scrypt
    calls: list[str] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("scrypt")
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    costs = {}
    with store() as session:
        for name, password in (("known", PASSWORD), ("known", "wrong password"), ("nobody", "wrong password"),
                               ("gone", PASSWORD), ("token-only", PASSWORD)):
            calls.clear()
            found = verify_login(session, name, password)
            costs[(name, password == PASSWORD)] = (len(calls), found is not None)
    assert costs == {("known", True): (1, True), ("known", False): (1, False), ("nobody", False): (1, False),
                     ("gone", True): (1, False), ("token-only", True): (1, False)}


def _daemon(folder: Path, trusted: str):  # type: ignore[no-untyped-def]
    folder.mkdir()
    url = make_store(folder, leads=10)
    make_users(url)
    config = make_config(folder, url, make_scenario(folder))
    config.write_text(config.read_text().replace("port = 0\n", f"port = 0\ntrusted_proxies = {trusted}\n"))
    return start_daemon(config, folder / "daemon.log")


def _login(port: int, password: str, **headers: str) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/login", headers=headers, timeout=10,
                      json={"username": "supervisor", "password": password})


@pytest.mark.daemon
def test_forwarded_headers_are_believed_from_a_trusted_proxy_only(tmp_path: Path) -> None:
    trusted = _daemon(tmp_path / "trusted", '["127.0.0.0/8"]')
    try:
        behind = _login(trusted.port, PASSWORD, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert behind.status_code == 200 and "secure" in behind.headers["set-cookie"].lower()
        for _ in range(PAIR.free):  # one client behind the proxy mistypes
            assert _login(trusted.port, "wrong", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 401
        assert _login(trusted.port, "wrong", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
        assert _login(trusted.port, PASSWORD, **{"X-Forwarded-For": "203.0.113.8"}).status_code == 200  # another
    finally:
        assert trusted.stop() == 0
    direct = _daemon(tmp_path / "direct", "[]")
    try:
        plain = _login(direct.port, PASSWORD, **{"X-Forwarded-Proto": "https"})
        assert plain.status_code == 200 and "secure" not in plain.headers["set-cookie"].lower()
        answers = [_login(direct.port, "wrong", **{"X-Forwarded-For": f"198.51.100.{k}"}).status_code
                   for k in range(PAIR.free + 1)]  # a forged address per try dodges nothing
        assert answers[-1] == 429
    finally:
        assert direct.stop() == 0


def test_a_trusted_proxy_that_is_not_an_address_stops_the_start_at_its_line(tmp_path: Path) -> None:
    from dialer.service.config import ConfigError, load_config

    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", make_scenario(tmp_path))
    config.write_text(config.read_text().replace("port = 0\n", 'port = 0\ntrusted_proxies = ["proxy.lan"]\n'))
    with pytest.raises(ConfigError, match=r":6: \[http\] trusted_proxies: must be a list of addresses"):
        load_config(config)
