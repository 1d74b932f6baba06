"""The wallboard read on a 1400 px screen, in a real headless Chromium: every table fits, the charts carry their
axis values, and what is counted is named in words (labels from the server), not codes."""

from __future__ import annotations

import pytest

from tests.api_helpers import start_api_daemon
from tests.test_console_browser import CHROMIUM, DRIVER, _log_in, _shots, chromium

pytestmark = [pytest.mark.browser, pytest.mark.daemon, pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian's chromium and chromium-driver are not "
                                                                 "installed (.ci/chromium.sh)")]

FITS = """return [...document.querySelectorAll('.grid > div, #hourly, #report, main, .figure')]
  .filter((e) => e.scrollWidth > e.clientWidth).map((e) => (e.id || e.className || e.tagName) + ': ' +
  e.scrollWidth + ' > ' + e.clientWidth).concat(document.documentElement.scrollWidth > window.innerWidth ?
  ['page: ' + document.documentElement.scrollWidth] : [])"""


@pytest.fixture(scope="module")
def floor(tmp_path_factory):
    """Simulated agents working the campaign, so the wallboard has hours, refusals and charts to show."""
    daemon = start_api_daemon(tmp_path_factory.mktemp("wallboard"), leads=300, agents="simulated")
    yield daemon
    daemon.close()
    assert daemon.running.stop() == 0, daemon.log.read_text()[-3000:]


def test_the_wallboard_fits_1400_px_with_axis_values_and_labels(floor, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chromium(1400)
    try:
        wait = WebDriverWait(browser, 40)
        _log_in(browser, floor.base, "wallboard", "manager")
        wait.until(ready.text_to_be_present_in_element((By.ID, "hourly"), ":00"))  # an hour with attempts
        wait.until(lambda d: d.find_element(By.ID, "refusals-today").text not in ("", "none"))
        browser.save_screenshot(str(_shots(tmp_path) / "wallboard-1400.png"))
        assert browser.execute_script(FITS) == []
        ticks = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart-abandon text")]
        assert "0.0%" in ticks and any(t.startswith("cap ") for t in ticks), ticks
        assert "100.0%" in [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart-occupancy text")]
        refusals = browser.find_element(By.ID, "refusals-today").text
        assert "_" not in refusals and "_" not in browser.find_element(By.ID, "agents").text, refusals
    finally:
        browser.quit()
