"""The optional second factor of managers and admins: a TOTP code (RFC 6238) after the password, each code
taken once; the API asks for it by name, and the console log-in shows the code field when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from click.testing import CliRunner

from cli import main
from dialer.service.users import Role, UserError, add_user, enable_totp, get_user, take_code
from tests.api_helpers import PASSWORD, start_api_daemon
from tests.test_console_browser import CHROMIUM, DRIVER, chromium

pytestmark = pytest.mark.sealed_too  # the secret is sealed in an encrypted store

NOW = datetime(2026, 11, 24, 9, 0, 10, tzinfo=UTC)


def test_a_code_is_taken_once_within_a_step_either_side(store) -> None:
    with store() as session:
        add_user(session, "boss", Role.MANAGER, NOW, PASSWORD)
        uri = enable_totp(session, "boss")
        user = get_user(session, "boss")
        totp = pyotp.TOTP(pyotp.parse_uri(uri).secret)
        assert not take_code(user, totp.at(NOW - timedelta(seconds=90)), NOW)  # three steps old
        assert take_code(user, totp.at(NOW - timedelta(seconds=30)), NOW)  # the step before: clock drift
        assert take_code(user, totp.at(NOW), NOW)
        assert not take_code(user, totp.at(NOW), NOW)  # replayed
        assert not take_code(user, totp.at(NOW - timedelta(seconds=30)), NOW)  # an older step after a newer one
        assert not take_code(user, "000000" if totp.at(NOW + timedelta(seconds=30)) != "000000" else "111111", NOW)
        add_user(session, "agent", Role.AGENT, NOW, PASSWORD)
        with pytest.raises(UserError, match="managers and admins"):
            enable_totp(session, "agent")


def _login(client, password: str = PASSWORD, otp: str | None = None):  # type: ignore[no-untyped-def]
    body = {"username": "boss", "password": password, **({"otp": otp} if otp else {})}
    return client.post("/api/v1/auth/login", json=body)


@pytest.mark.daemon
@pytest.mark.browser
def test_a_manager_with_a_second_factor_logs_in_with_the_code_in_the_api_and_the_console(tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    if not (CHROMIUM and DRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    api = start_api_daemon(tmp_path, leads=10)
    try:
        assert CliRunner().invoke(main, ["users", "add", "boss", "--role", "manager", "--database-url", api.url,
                                         "--password-stdin"], input=PASSWORD + "\n").exit_code == 0
        made = CliRunner().invoke(main, ["users", "totp", "boss", "--database-url", api.url])
        assert made.exit_code == 0 and made.output.startswith("otpauth://totp/dialer:boss?")
        totp = pyotp.TOTP(pyotp.parse_uri(made.output.strip()).secret)
        client = api.client()
        asked = _login(client)
        assert asked.status_code == 401 and asked.json()["field"] == "otp"
        assert _login(client, otp="000000" if totp.now() != "000000" else "111111").status_code == 401
        assert _login(client, "wrong password", totp.now()).status_code == 401
        browser = chromium()
        try:
            browser.get(f"{api.base}/console/wallboard")
            wait = WebDriverWait(browser, 30)
            wait.until(ready.visibility_of_element_located((By.ID, "username"))).send_keys("boss")
            browser.find_element(By.ID, "password").send_keys(PASSWORD)
            browser.find_element(By.ID, "login-button").click()
            wait.until(ready.visibility_of_element_located((By.ID, "otp")))  # asked for, by name
            code = totp.now()
            browser.find_element(By.ID, "otp").send_keys(code)
            browser.find_element(By.ID, "login-button").click()
            wait.until(ready.text_to_be_present_in_element((By.ID, "who"), "boss"))
        finally:
            browser.quit()
        assert _login(client, otp=code).status_code == 401  # the console's code, replayed
    finally:
        api.close()
        assert api.running.stop() == 0
