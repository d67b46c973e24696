"""The researcher's pages in Debian's headless Chromium against a real `mrkg serve` of the real build: the comparison
chart renders one SVG mark per data row under the site's CSP (no console error, nothing fetched from elsewhere);
a conflict page shows both sides' quotes; the new controls have labels and work from the keyboard; and with
JavaScript off the pages still work (the chart's data as a plain table, the filters as a GET form)."""

from __future__ import annotations

import csv
import io
import os
import urllib.request

import pytest
from conftest import chromium_driver, start_server, stop_server
from test_browser import _console_errors, _requested_urls, _wait, browser  # noqa: F401 (browser: the fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(build_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-pages-browser") / "serve.log"
    live = start_server(build_dir, "oxigraph", log, max_rows=10000, query_timeout=20)
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def no_js_browser(tmp_path_factory):
    driver = chromium_driver(tmp_path_factory, javascript=False)
    yield driver
    driver.quit()


def _vega(driver) -> bool:
    """Whether the page has the chart (vega installed by `mrkg assets`); under CI=true it must."""
    from selenium.webdriver.common.by import By

    if driver.find_elements(By.ID, "chart"):
        return True
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI must draw the chart: run `mrkg assets` (npm) before the tests")
    return False


COMPARE = "/compare?drugs=baclofen,cyclobenzaprine"


def test_comparison_chart_has_one_mark_per_data_row(browser, server):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get_log("performance")
    browser.get_log("browser")
    browser.get(server.url + COMPARE)
    if not _vega(browser):
        pytest.skip("vega not installed (`mrkg assets` needs npm): the page shows the plain table only")
    _wait(browser, lambda d: d.find_element(By.ID, "chart").get_attribute("data-rendered") in {"true", "error"})
    assert browser.find_element(By.ID, "chart").get_attribute("data-rendered") == "true"
    with urllib.request.urlopen(server.url + COMPARE.replace("/compare", "/compare/chart.csv"), timeout=30) as answer:
        rows = list(csv.DictReader(io.StringIO(answer.read().decode("utf-8"))))
    drawn = [r for r in rows if r["low"]]
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart svg g.mark-rect.role-mark path")
    points = browser.find_elements(By.CSS_SELECTOR, "#chart svg g.mark-symbol.role-mark path")
    assert len(bars) == sum(1 for r in drawn if r["kind"] != "value")
    assert len(points) == sum(1 for r in drawn if r["kind"] == "value")
    assert len(bars) + len(points) == len(drawn) == int(browser.find_element(By.ID, "chart").get_attribute("data-rows"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-data tbody tr.drawn")) == len(drawn)
    # Under the CSP (no unsafe-eval, no inline script): no violation in the console, nothing fetched elsewhere.
    assert _console_errors(browser) == []
    outside = {u for u in _requested_urls(browser) if not u.startswith((server.url, "data:"))}
    assert outside == set()


def test_conflict_page_shows_both_sides_quotes(browser, server):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.set_window_size(1300, 900)
    browser.get(server.url + "/conflict/scope--cyclobenzaprine--isContraindicatedWith--maois")
    quotes = [q.text for q in browser.find_elements(By.CSS_SELECTOR, ".side .side-quote") if q.is_displayed()]
    assert len(quotes) >= 2
    assert any("within 14 days" in q for q in quotes)
    assert any(q.startswith("Contraindicated with monoamine oxidase inhibitors") for q in quotes)
    sides = browser.find_elements(By.CSS_SELECTOR, ".sides .side")
    assert len(sides) == 2
    left, right = (s.rect for s in sides)
    assert right["x"] > left["x"] + left["width"] / 2  # side by side on a wide screen


def test_new_controls_have_labels_and_work_from_the_keyboard(browser, server):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(1300, 900)
    browser.get(server.url + "/entity/baclofen")
    for control in ("filter-source", "filter-kind"):
        label = browser.execute_script(f"return document.getElementById('{control}').labels[0].textContent")
        assert label.strip() in {"Source", "Kind"}
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(40):  # Tab through the header's links to the first filter
        if browser.switch_to.active_element.get_attribute("id") == "filter-source":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "filter-source"
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)  # the first source
    browser.switch_to.active_element.send_keys(Keys.TAB)  # to the kind
    assert browser.switch_to.active_element.get_attribute("id") == "filter-kind"
    browser.switch_to.active_element.send_keys(Keys.TAB)  # to the button
    assert browser.switch_to.active_element.text == "Filter"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    _wait(browser, lambda d: "source=000" in d.current_url)
    assert "of 392 claims shown" in browser.find_element(By.TAG_NAME, "body").text or \
        "claims shown" in browser.find_element(By.TAG_NAME, "body").text
    # The comparison form: its input has a label; typing ids and Enter compares them.
    browser.get(server.url + "/compare?drugs=baclofen")
    assert browser.find_element(By.ID, "problem").is_displayed()
    field = browser.find_element(By.ID, "compare-drugs")
    assert "Drugs or drug classes" in browser.execute_script("return arguments[0].labels[0].textContent", field)
    field.clear()
    field.send_keys("baclofen,tizanidine", Keys.ENTER)
    _wait(browser, lambda d: "drugs=baclofen%2Ctizanidine" in d.current_url or "drugs=baclofen,tizanidine" in d.current_url)
    assert browser.find_element(By.ID, "title").text.startswith("Compare: baclofen")
    # A focused link shows its focus ring (the stylesheet's :focus-visible outline).
    link = browser.find_element(By.ID, "chart-csv")
    browser.execute_script("arguments[0].focus()", link)
    link.send_keys(Keys.SHIFT + Keys.TAB)
    link.send_keys(Keys.TAB)
    outline = browser.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_pages_work_without_javascript(no_js_browser, server):
    from selenium.webdriver.common.by import By

    driver = no_js_browser
    driver.get(server.url + COMPARE)
    assert driver.execute_script is not None
    rows = driver.find_elements(By.CSS_SELECTOR, "#chart-data tbody tr")
    assert len(rows) > 10 and rows[0].is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "#chart svg") == []
    assert "10-63%" in driver.find_element(By.ID, "chart-data").text
    # The filters are a plain GET form.
    driver.get(server.url + "/entity/baclofen")
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "filter-kind")).select_by_value("adverse")
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    assert "kind=adverse" in driver.current_url
    cards = driver.find_elements(By.CSS_SELECTOR, "article.claim")
    assert cards and cards[0].is_displayed()
    # A claim page reads as a sentence without any script.
    driver.get(server.url + "/claim/003-tizanidine-less-drowsiness")
    assert "less than baclofen" in driver.find_element(By.ID, "title").text
