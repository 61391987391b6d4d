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
    debian = "/usr/bin/chromium"
    path = shutil.which("chromium") or (debian if Path(debian).exists() else None)
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
def hostile_report(tmp_path_factory, demo_incident):
    """The demo's investigation report, with a hostile category value in the data."""
    import dataclasses

    from toolkit import demo, runner

    current = demo_incident.current.copy()
    current.loc[current.index[::15], "merchant_category"] = HOSTILE
    incident = dataclasses.replace(demo_incident, current=current)
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout:.0f} s")


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on a free localhost port, with a token, serving a copy of the walkthrough."""
    import secrets

    _chromium()
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(REPO / "notebooks" / "onboarding.ipynb", root / "onboarding.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "PYTHONWARNINGS": "ignore"}
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", proc, timeout=60)
        yield f"http://127.0.0.1:{port}", token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_jupyterlab_runs_walkthrough_and_drilldown_follows_the_menu(browser, jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, token, _ = jupyterlab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{base}/lab/tree/onboarding.ipynb?token={token}", wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
        accept = page.locator(".jp-Dialog .jp-mod-accept")  # "Select Kernel": keep Python 3
        try:
            accept.wait_for(timeout=15_000)
            accept.click()
        except PlaywrightTimeout:
            pass
        page.locator(".jp-NotebookPanel-toolbar", has_text="Idle").or_(
            page.locator(".jp-StatusBar-TextItem", has_text="Idle")).first.wait_for(timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        drill = page.locator(".steward-drilldown")
        drill.wait_for(state="attached", timeout=120_000)
        drill.scroll_into_view_if_needed()
        image = drill.locator("img").first
        image.wait_for(timeout=30_000)
        before = image.get_attribute("src")
        assert before.startswith("data:image/png")
        assert "Feature: amount" in drill.inner_text()

        drill.locator("select").select_option("channel")
        page.wait_for_function(
            """([sel, old]) => { const i = document.querySelector(sel + ' img');
                return i && i.getAttribute('src') !== old; }""",
            arg=[".steward-drilldown", before], timeout=30_000)
        assert "Feature: channel" in drill.inner_text()
        assert image.get_attribute("src") != before
        width = "() => document.querySelector('.steward-drilldown img').naturalWidth"
        assert page.evaluate(width) > 0
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-drilldown.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"))
        raise
    finally:
        context.close()
