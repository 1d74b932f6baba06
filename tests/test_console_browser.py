"""The consoles in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium).

An agent logs in, joins the campaign, goes ready, receives a screen pop
from the sim driver's customers, records a refusal with a reason; then a
manager finds that refusal in the wallboard's report. Another agent hangs
up calls (button and key) and records a refusal, a callback and a sale,
each checked against the row the store then holds. A manager's wallboard
names why each campaign is not dialling. Screenshots go to
``DIALER_SCREENSHOTS`` (the README's are made with ``docs/screenshots``),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from tests.api_helpers import CAMPAIGN, OTHER, PASSWORD, events, start_api_daemon

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.browser, pytest.mark.daemon, pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and DRIVER) and not os.environ.get("CI"),
                                 reason="Debian's chromium and chromium-driver are not installed (.ci/chromium.sh)")]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    daemon = start_api_daemon(tmp_path_factory.mktemp("browser"), leads=200)
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def chromium(width: int = 1280):  # type: ignore[no-untyped-def]
    """Debian's headless Chromium, ``width`` pixels wide."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},1000", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER or "/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DIALER_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _log_in(driver, base: str, page: str, user: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/console/{page}")
    WebDriverWait(driver, 15).until(ready.visibility_of_element_located((By.ID, "username"))).send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, 15).until(ready.text_to_be_present_in_element((By.ID, "who"), user))


def test_agent_takes_a_call_records_a_refusal_and_the_manager_sees_it(api, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots, wait = _shots(tmp_path), WebDriverWait(browser, 40)
    _log_in(browser, api.base, "agent", "agent")
    browser.find_element(By.ID, "join").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "ready"))
    wait.until(ready.visibility_of_element_located((By.ID, "card")))  # the screen pop
    assert browser.find_element(By.ID, "lead-name").text.startswith("Person ")
    assert "*" in browser.find_element(By.ID, "lead-number").text
    assert "Hello Person" in browser.find_element(By.ID, "script").text
    browser.save_screenshot(str(shots / "agent-screen-pop.png"))
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "wrap-up"))  # the customer hung up
    assert not browser.find_element(By.ID, "submit").is_enabled()  # nothing is chosen for the agent
    Select(browser.find_element(By.ID, "outcome")).select_by_value("refused")
    wait.until(ready.visibility_of_element_located((By.ID, "reason")))
    Select(browser.find_element(By.ID, "reason")).select_by_value("too_expensive")
    browser.save_screenshot(str(shots / "agent-disposition.png"))
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: not d.find_element(By.ID, "disposition").is_displayed()
               or d.find_element(By.ID, "lead-name").text == "")
    assert browser.find_element(By.ID, "disposition-error").text == ""
    Select(browser.find_element(By.ID, "pause-reason")).select_by_value("break")
    browser.find_element(By.ID, "pause").click()
    browser.delete_all_cookies()

    _log_in(browser, api.base, "wallboard", "manager")
    wait.until(ready.text_to_be_present_in_element((By.ID, "campaigns"), "Loans"))
    wait.until(ready.text_to_be_present_in_element((By.ID, "figures"), "occupancy"))

    def refusal_listed(driver) -> bool:
        driver.find_element(By.ID, "report-refresh").click()
        return "Too expensive" in driver.find_element(By.ID, "report").text  # the label, not the code

    wait.until(refusal_listed)
    assert "too_expensive" not in browser.find_element(By.ID, "report").text
    browser.execute_script("document.getElementById('report-box').scrollIntoView()")
    browser.save_screenshot(str(shots / "wallboard-report.png"))
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(shots / "wallboard.png"))


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory):
    """A daemon whose world runs at 4x, so a call lasts long enough (a refusal about 15 s) to be hung up."""
    daemon = start_api_daemon(tmp_path_factory.mktemp("browser-slow"), leads=200, speed=4.0)
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _stored(url: str, agent: str) -> list[tuple[str | None, str | None, dict, str]]:
    """The agent's attempts in the store, oldest first: disposition, refusal reason, data, the lead's status."""
    from sqlalchemy import select

    from lists.models import Attempt, Lead
    from lists.store import open_store

    factory = open_store(url)
    try:
        with factory() as session:
            rows = session.execute(select(Attempt.disposition, Attempt.refusal_reason, Attempt.data, Lead.status)
                                   .join(Lead, Lead.id == Attempt.lead_id)
                                   .where(Attempt.agent == agent).order_by(Attempt.id)).all()
    finally:
        factory.kw["bind"].dispose()
    return [(d, r, data, str(status)) for d, r, data, status in rows]


def _take_and_hang_up(browser, wait, key: str | None = None) -> None:
    """Wait for the next call to be connected, check nothing is chosen for it, then end it (button or key)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready

    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "talking"))
    wait.until(ready.visibility_of_element_located((By.ID, "disposition")))
    assert browser.find_element(By.ID, "outcome").get_attribute("value") == ""  # nothing preselected
    assert not browser.find_element(By.ID, "submit").is_enabled()
    if key is None:
        browser.find_element(By.ID, "hangup").click()
    else:
        browser.find_element(By.TAG_NAME, "body").send_keys(key)
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "wrap-up"))  # the server's answer
    assert browser.find_element(By.ID, "disposition").is_displayed()
    assert not browser.find_element(By.ID, "submit").is_enabled()  # the agent has not chosen yet


def test_hang_up_ends_the_call_and_the_store_holds_exactly_what_the_agent_chose(slow_api, browser, tmp_path):
    """Hang up only ends the call: the form then waits for the agent's choice, and each disposition sent is the
    row the store holds (a refusal with its reason, a callback for anyone, a sale with its order), with the
    agent's wrap-up time; pause with a reason and log out answer from the server."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    _log_in(browser, slow_api.base, "agent", "agent2")
    browser.find_element(By.ID, "join").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "ready"))

    _take_and_hang_up(browser, wait)
    Select(browser.find_element(By.ID, "outcome")).select_by_value("refused")
    Select(browser.find_element(By.ID, "reason")).select_by_value("no_need")
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda _: len(_stored(slow_api.url, "agent2")) == 1)
    disposition, reason, data, _ = _stored(slow_api.url, "agent2")[0]
    assert (disposition, reason) == ("refused", "no_need")
    assert data["wrap_s"] > 0

    _take_and_hang_up(browser, wait, key="h")
    Select(browser.find_element(By.ID, "outcome")).select_by_value("callback")
    wait.until(ready.visibility_of_element_located((By.ID, "callback-at")))
    browser.find_element(By.CSS_SELECTOR, "input[name=owner][value=anyone]").click()
    browser.find_element(By.ID, "outcome").send_keys("\ue009\ue007")  # Ctrl+Enter saves
    wait.until(lambda _: len(_stored(slow_api.url, "agent2")) == 2)
    disposition, _, _, status = _stored(slow_api.url, "agent2")[1]
    assert (disposition, status) == ("callback", "callback")

    _take_and_hang_up(browser, wait)
    Select(browser.find_element(By.ID, "pause-reason")).select_by_value("lunch")
    browser.find_element(By.ID, "pause").click()  # in wrap-up: the pause starts when the call is recorded
    Select(browser.find_element(By.ID, "outcome")).select_by_value("accepted")
    browser.find_element(By.ID, "order-amount").send_keys("2500")
    browser.find_element(By.ID, "submit").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "paused"))
    wait.until(lambda _: len(_stored(slow_api.url, "agent2")) == 3)
    disposition, _, data, _ = _stored(slow_api.url, "agent2")[2]
    assert disposition == "accepted" and data["order"]["amount"] == 2500
    browser.find_element(By.ID, "leave").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "off"))
    assert [row[0] for row in _stored(slow_api.url, "agent2")] == ["refused", "callback", "accepted"]


@pytest.fixture(scope="module")
def idle_api(tmp_path_factory):
    """A daemon whose Loans leads are due only the next morning, as a list imported after the simulated day: the
    known failure, 0 claims with agents ready and nothing said."""
    daemon = start_api_daemon(tmp_path_factory.mktemp("browser-idle"), leads=20, due=datetime(2026, 11, 25, 9, 0))
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def test_the_wallboard_says_why_each_campaign_is_not_dialling(idle_api, browser, tmp_path):
    """Loans has an agent ready and no lead due before 10:00 the next day; Other has leads but nobody logged in.
    The wallboard names both, in the campaign's zone; /stats and the log say the same."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    loans = idle_api.campaigns[CAMPAIGN]
    agent = idle_api.client("agent")
    assert agent.post("/api/v1/agents/me/login", json={"campaign_id": loans}).json()["state"] == "ready"
    wait = WebDriverWait(browser, 40)
    _log_in(browser, idle_api.base, "wallboard", "admin")  # the admin sees both campaigns
    due = '#campaigns [data-reason="no_lead_due"]'
    nobody = '#campaigns [data-reason="no_agent_ready"]'
    wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, due)))
    wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, nobody)))
    assert browser.find_element(By.CSS_SELECTOR, due).text == "no lead due before 2026-11-25 10:00 Europe/Paris"
    assert browser.find_element(By.CSS_SELECTOR, nobody).text == "no agent ready: none logged in"
    rows = {row.find_element(By.TAG_NAME, "a").text: row.text
            for row in browser.find_elements(By.CSS_SELECTOR, "#campaigns tr") if row.find_elements(By.TAG_NAME, "a")}
    assert "no lead due" in rows[CAMPAIGN] and "none logged in" in rows[OTHER], rows
    wait.until(ready.text_to_be_present_in_element((By.ID, "live-warnings"), "no lead due before 2026-11-25 10:00"))
    browser.save_screenshot(str(_shots(tmp_path) / "wallboard-idle.png"))
    stats = idle_api.client("supervisor").get(f"/api/v1/outbound/campaigns/{loans}/stats").json()
    assert not stats["dialing"] and stats["agents"]["ready"] == 1 and stats["attempts_today"] == 0
    assert [r["reason"] for r in stats["reasons"]] == ["no_lead_due"]
    assert stats["warnings"] == ["no lead due before 2026-11-25 10:00 Europe/Paris"]
    said = [e for e in events(idle_api.log) if e.get("event") == "campaign_reasons" and e["campaign"] == CAMPAIGN]
    assert said[-1]["reasons"] == ["no_lead_due"] and not said[-1]["dialing"], said
    agent.post("/api/v1/agents/me/logout")


@pytest.fixture(scope="module")
def quality_api(tmp_path_factory):
    """A daemon with connected calls to score (``add_connected_calls``) and Loans' scorecard set by the manager."""
    from tests.api_helpers import add_connected_calls

    daemon = start_api_daemon(tmp_path_factory.mktemp("browser-quality"), leads=5)
    daemon.calls = add_connected_calls(daemon.url, daemon.campaigns)
    card = daemon.client("manager").put(f"/api/v1/outbound/campaigns/{daemon.campaigns[CAMPAIGN]}/scorecard", json={
        "criteria": [{"code": "greeting", "label": "Greets and names the bank", "weight": 1},
                     {"code": "needs", "label": "Asks about the customer's needs", "weight": 3},
                     {"code": "apr", "label": "States the APR", "weight": 2, "critical": True}]})
    assert card.status_code == 200, card.text
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def _scores_stored(url: str) -> list[tuple[int, str, str, float, bool, str | None, dict[str, float | None]]]:
    """Every score in the store: call, agent, scorer, total, critical failed, comment, each criterion's value."""
    from sqlalchemy import select

    from lists.models import QualityAnswer, QualityScore, ScorecardCriterion, User
    from lists.store import open_store

    factory = open_store(url)
    try:
        with factory() as session:
            scores = session.execute(select(QualityScore, User.name).join(User, User.id == QualityScore.scorer_id)
                                     .order_by(QualityScore.id)).all()
            answers = session.execute(select(QualityAnswer.score_id, ScorecardCriterion.code, QualityAnswer.value)
                                      .join(ScorecardCriterion, ScorecardCriterion.id == QualityAnswer.criterion_id))
            by_score: dict[int, dict[str, float | None]] = {}
            for score_id, code, value in answers:
                by_score.setdefault(score_id, {})[code] = value
            return [(s.attempt_id, s.agent, name, s.total, s.critical_failed, s.comment, by_score.get(s.id, {}))
                    for s, name in scores]
    finally:
        factory.kw["bind"].dispose()


def test_a_supervisor_scores_a_recording_and_the_agent_reads_the_score(quality_api, browser, tmp_path):
    """In the wallboard's quality panel a supervisor opens a call (who was called, masked, beside the
    recording's player), judges each criterion and saves: the store then holds exactly that score, and the
    agent finds it in the agent console."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    call, wait = quality_api.calls["a1"], WebDriverWait(browser, 30)
    _log_in(browser, quality_api.base, "wallboard", "supervisor")
    opener = f'#quality-calls [data-score="{call}"]'
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, opener))).click()
    wait.until(ready.visibility_of_element_located((By.ID, "criterion-apr")))
    assert browser.find_element(By.ID, "scoring-lead").text == "Quality Person"
    assert "*" in browser.find_element(By.ID, "scoring-number").text
    assert browser.find_element(By.ID, "recording").get_attribute("src").endswith(f"/attempts/{call}/recording")
    Select(browser.find_element(By.ID, "criterion-greeting")).select_by_value("1")
    Select(browser.find_element(By.ID, "criterion-needs")).select_by_value("0.5")
    Select(browser.find_element(By.ID, "criterion-apr")).select_by_value("1")
    browser.find_element(By.ID, "score-comment").send_keys("rushed the needs")
    browser.execute_script("document.getElementById('quality-box').scrollIntoView()")
    browser.save_screenshot(str(_shots(tmp_path) / "wallboard-quality.png"))
    browser.find_element(By.ID, "score-submit").click()
    wait.until(lambda _: _scores_stored(quality_api.url))
    assert _scores_stored(quality_api.url) == [(call, "agent", "supervisor", 75.0, False, "rushed the needs",
                                                {"greeting": 1.0, "needs": 0.5, "apr": 1.0})]
    wait.until(ready.text_to_be_present_in_element((By.ID, "scoring-scores"), "75.0"))  # now theirs is shown
    wait.until(ready.text_to_be_present_in_element((By.ID, "quality-report"), "75.0"))
    browser.delete_all_cookies()

    _log_in(browser, quality_api.base, "agent", "agent")
    wait.until(ready.text_to_be_present_in_element((By.ID, "my-scores"), "rushed the needs"))
    assert "75.0" in browser.find_element(By.ID, "my-scores").text
    assert "Quality Person" not in browser.find_element(By.TAG_NAME, "body").text
