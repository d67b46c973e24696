"""The query UI and an entity page in Debian's headless Chromium against a real `mrkg serve`: pick an example query,
run it, see its rows; and nothing is fetched from anywhere but the server itself (no CDN)."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

import pytest
from conftest import chromium_driver, in_ci

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver(tmp_path_factory, performance_log=True)  # performance: the requests, for "no CDN"
    yield driver
    driver.quit()


def _requested_urls(driver) -> set[str]:
    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


def _console_errors(driver) -> list[str]:
    """The console's errors since the last call (CSP violations among them: Chromium logs each one as SEVERE)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _yasgui(driver) -> bool:
    """Whether the page runs YASGUI; under CI=true it must (the real UI is what users get)."""
    if driver.execute_script("return !!window.mrkgYasgui"):
        return True
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI must drive YASGUI: run `mrkg assets` (npm) before the tests")
    return False


def _wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_ui_runs_example_query(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get_log("performance")  # drop earlier entries
    browser.get(live_server.url + "/")
    Select(browser.find_element(By.ID, "example")).select_by_visible_text("Drugs and their labels")
    if browser.execute_script("return !!window.mrkgYasgui"):
        _wait(browser, lambda d: "mrkg:Drug" in d.execute_script("return window.mrkgYasgui.getTab().getQuery()"))
        browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
        _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr")) >= 2)
        text = browser.find_element(By.CSS_SELECTOR, ".yasr table").text
    else:  # the plain form (npm absent): the server runs the query and renders the table
        browser.find_element(By.ID, "run").click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#results table tbody tr"))
        text = browser.find_element(By.CSS_SELECTOR, "#results table").text
    assert "baclofen" in text and "cyclobenzaprine" in text
    hosts = {urllib.parse.urlsplit(url).netloc for url in _requested_urls(browser) if url.startswith("http")}
    assert hosts <= {urllib.parse.urlsplit(live_server.url).netloc}, f"requests left the server: {hosts}"


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_plain_form_without_yasgui(browser, live_server):
    from selenium.webdriver.common.by import By

    query = urllib.parse.urlencode({"query": "SELECT ?d WHERE { ?d a mrkg:Drug } ORDER BY ?d"})
    browser.get(f"{live_server.url}/?{query}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#results table tbody tr")
    assert [r.text for r in rows] == ["ent:baclofen", "ent:cyclobenzaprine"]


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_entity_page(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(live_server.url + "/entity/baclofen")
    assert browser.find_element(By.ID, "title").text == "baclofen"
    claims = browser.find_element(By.ID, "cards").text  # the claim cards, after the summary
    assert "Baclofen is not a benzodiazepine." in claims
    assert "denied" in claims and "conflict" in claims
    browser.find_element(By.LINK_TEXT, "Test source one").click()
    _wait(browser, lambda d: d.current_url.endswith("/source/001"))
    assert "Baclofen may cause drowsiness." in browser.find_element(By.ID, "claims").text


# --- the pages as a browser enforces them: CSP, links, the endpoint ------------------------------------------------

MINTED = ('SELECT ?x WHERE { { VALUES ?x { <https://w3id.org/mrkg/entity/baclofen> <https://example.org/a> <urn:x:1> } }'
          ' UNION { BIND(IRI("javascript:alert(1)") AS ?x) } }')


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_pages_no_console_errors(browser, live_server):
    from selenium.webdriver.common.by import By

    _console_errors(browser)  # drop earlier entries
    browser.get(live_server.url + "/")
    if _yasgui(browser):
        browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()  # the default query, through YASGUI
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr"))
    for path in ("/?" + urllib.parse.urlencode({"query": MINTED}), "/entity/baclofen", "/download/", "/sparql"):
        browser.get(live_server.url + path)
        _wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    assert _console_errors(browser) == []


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_csp_stops_injected_script(browser, live_server):
    browser.get(live_server.url + "/")
    _console_errors(browser)
    browser.execute_script("""
        window.violations = [];
        document.addEventListener("securitypolicyviolation",
                                  function (e) { window.violations.push(e.effectiveDirective); });
        var script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
        var link = document.createElement("a");
        link.href = "javascript:window.clicked = true";
        document.body.appendChild(link);
        link.click();""")
    _wait(browser, lambda d: len(d.execute_script("return window.violations")) >= 2)
    assert browser.execute_script("return window.violations") == ["script-src-elem", "script-src-elem"]
    assert browser.execute_script("return [window.injected === true, window.clicked === true]") == [False, False]
    errors = _console_errors(browser)
    assert any("Content Security Policy" in e and "inline script" in e for e in errors), errors
    assert any("Content Security Policy" in e and "JavaScript URL" in e for e in errors), errors


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_plain_form_javascript_iri_is_text(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/?{urllib.parse.urlencode({'query': MINTED})}")
    cells = {cell.text: cell for cell in browser.find_elements(By.CSS_SELECTOR, "#results table tbody td")}
    assert set(cells) == {"ent:baclofen", "https://example.org/a", "urn:x:1", "javascript:alert(1)"}
    links = {cell.text: [a.get_attribute("href") for a in cell.find_elements(By.TAG_NAME, "a")] for cell in cells.values()}
    assert links == {"ent:baclofen": [live_server.url + "/entity/baclofen"], "https://example.org/a": ["https://example.org/a"],
                     "urn:x:1": [], "javascript:alert(1)": []}


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_yasgui_javascript_iri_not_a_link(browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(live_server.url + "/")
    if not _yasgui(browser):
        pytest.skip("YASGUI is not installed (`mrkg assets`): the plain form is tested above")
    assert browser.execute_script("return window.mrkgYasgui.getTab().getEndpoint()") == live_server.endpoint
    browser.execute_script("window.mrkgYasgui.getTab().setQuery(arguments[0])", MINTED)
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr")) == 4)
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".yasr table tbody a")}
    assert links["javascript:alert(1)"] is None  # YASR's DOMPurify drops the href
    assert links["https://example.org/a"] == "https://example.org/a"
    assert not [href for href in links.values() if href and not href.startswith(("http://", "https://"))], links


# What `mrkg assets` (run by `make setup`) installs from npm; without it the UI is the plain form.
YASGUI_JS = Path(__file__).resolve().parents[1] / "server" / "mrkg" / "static" / "vendor" / "yasgui" / "yasgui.min.js"
TYPED_QUERY = "SELECT ?label WHERE { ?drug a mrkg:Drug ; rdfs:label ?label } ORDER BY DESC(?label)"


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_browser_yasgui_runs_a_typed_query(browser, live_server):
    """The real UI: YASGUI starts, a query typed into its editor runs against the server, its table shows the rows
    in the query's order. Under CI YASGUI must be there (.ci/run installs npm, `make setup` runs `mrkg assets`)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    if not YASGUI_JS.is_file():
        message = "YASGUI is not installed (`mrkg assets`, run by `make setup`, needs npm)"
        if in_ci():
            pytest.fail(f"CI must drive the real UI, but {message}", pytrace=False)
        pytest.skip(message)
    browser.get(live_server.url + "/")
    _wait(browser, lambda d: d.execute_script("return !!window.mrkgYasgui"))
    editor = browser.find_element(By.CSS_SELECTOR, "#yasgui .CodeMirror")
    editor.click()
    keys = editor.find_element(By.CSS_SELECTOR, "textarea")
    keys.send_keys(Keys.CONTROL, "a")
    keys.send_keys(Keys.DELETE)
    keys.send_keys(TYPED_QUERY)
    typed = browser.execute_script("return window.mrkgYasgui.getTab().getQuery()")
    assert " ".join(typed.split()).endswith(TYPED_QUERY), typed  # YASQE may add the PREFIX lines of names typed
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr")) == 2)
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr")]
    assert ["cyclobenzaprine" in rows[0], "baclofen" in rows[1]] == [True, True], rows
