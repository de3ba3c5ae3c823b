"""Real-browser tests: Playwright driving Debian's Chromium against `live_server`.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse
database access "from an async context"; these tests are synchronous, so that check is
turned off while the browser runs (one browser per test module), and only then.
"""

import threading
import time
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: The narrowest phone the interface is designed for.
PHONE = {"width": 360, "height": 740}


# Requests the live server is still answering, by the thread that serves each (Django's
# live server runs one thread per request). A page, or its service worker, may still be
# fetching when a test ends; the database must not be flushed under that request (SQLite's
# shared in-memory database then reports "table is locked" at teardown).
_serving: set[int] = set()
_serving_lock = threading.Lock()


def _request_started(**kwargs):
    with _serving_lock:
        _serving.add(threading.get_ident())


def _request_finished(**kwargs):
    with _serving_lock:
        _serving.discard(threading.get_ident())


request_started.connect(_request_started, weak=False, dispatch_uid="browser-serving-start")
request_finished.connect(_request_finished, weak=False, dispatch_uid="browser-serving-end")


def close_quietly(context, timeout: float = 10.0) -> None:
    """Close a browsing context, then wait until the live server has answered every request
    it was still serving (at most `timeout` seconds; a thread that died is not waited for)."""
    context.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = {thread.ident for thread in threading.enumerate()}
        with _serving_lock:
            _serving.intersection_update(alive)
            if not _serving:
                return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium manquant : lancez `make browser-deps` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def phone(browser):
    """A page in a 360 × 740 phone-sized viewport; fails the test on any CSP violation."""
    context = browser.new_context(viewport=PHONE, locale="fr-FR", device_scale_factor=2)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"JS: {error}"))
    yield page
    close_quietly(context)
    assert not problems, "\n".join(problems)


def run_axe(page) -> list[dict]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page; return the violations.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern,
    so the application's policy stays as strict as in production.
    """
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary),
            }));
        }"""
    )
    return result


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
