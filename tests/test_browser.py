"""The reports and the interactive path, proven in a real headless Chromium.

Debian's ``chromium`` is driven by Playwright (no browser is downloaded). In CI (``CI``
set) a missing browser fails the tests; locally they are skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        message = ("Debian's chromium and Python's playwright are needed for the browser tests: "
                   "apt-get install chromium && pip install -e '.[test]'.")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """The demo's investigation report, with a hostile category value in the data."""
    from toolkit import demo, runner

    incident = demo.make_incident(n_rows=4_000, random_state=0)
    current = incident.current
    current.loc[current.index[::15], "merchant_category"] = HOSTILE
    folder = tmp_path_factory.mktemp("hostile")
    params = demo.write_incident(folder / "inputs", incident)
    result = runner.run_template("investigate", params, reports_dir=folder / "reports")
    assert result.ok, result.error
    return result.html


def test_report_renders_offline_and_hostile_values_stay_text(browser, hostile_report):
    requests, dialogs, errors = [], [], []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(hostile_report.resolve().as_uri(), wait_until="load", timeout=30_000)
    page.wait_for_timeout(500)

    verdict = page.locator(".steward-verdict").first
    assert "Most likely root cause" in verdict.inner_text(timeout=5_000)
    images = page.evaluate("""() => [...document.images].map(i => (
        {src: i.getAttribute('src').slice(0, 22), width: i.naturalWidth,
         top: i.getBoundingClientRect().top + window.scrollY}))""")
    assert len(images) >= 3
    assert all(i["src"].startswith("data:image/png;base64") for i in images), images
    assert all(i["width"] > 0 for i in images)
    verdict_top = verdict.bounding_box()["y"]
    assert verdict_top < min(i["top"] for i in images), "the verdict must come first"

    # the hostile value is shown as text, never parsed into an element, and ran nothing
    assert page.locator("img[src='x']").count() == 0
    assert page.get_by_text(HOSTILE, exact=False).count() >= 1
    assert dialogs == []
    assert [e for e in errors if "alert" in e or "onerror" in e] == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests

    # the table of contents' anchors all land on a heading
    targets = page.evaluate("""() => [...document.querySelectorAll('a[href^="#"]')]
        .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
        .filter(t => t && !t.startsWith('cell-'))""")
    contents = ["Intake", "Data-checks", "Drift", "Does-it-matter", "Versions"]
    assert set(contents) <= set(targets), targets
    for target in contents:
        assert page.evaluate("t => document.getElementById(t) !== null", target), target
    page.click("a[href='#Drift']")
    assert page.evaluate("() => decodeURIComponent(location.hash)") == "#Drift"

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(hostile_report.resolve().as_uri(), wait_until="load", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    context.close()
