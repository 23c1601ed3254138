"""The help finder in headless Chromium: right-to-left Arabic, quick exit, no request leaves the
host, offline after the first visit, and a screenshot per language (checked by eye, see docs/refer.md).

Set SAFELIGHT_SCREENSHOTS=<folder> to keep the screenshots; otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from refer_support import make_directory_hub

pytest.importorskip("playwright", reason="the Python package playwright is not installed")
pytest.importorskip("uvicorn", reason="uvicorn is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt install chromium)")
LANGS = ("en", "uk", "ru", "ar", "es", "ro")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn
    from fastapi import FastAPI

    from safelight.refer.api import help_finder_router

    tmp = tmp_path_factory.mktemp("finder")
    hub, *_ = make_directory_hub(tmp, 600)
    hub.close()
    port = _free_port()
    app = FastAPI()
    app.include_router(help_finder_router(tmp / "hub.duckdb", exit_url=f"http://127.0.0.1:{port}/bye"), prefix="/help")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/help/"
    srv.should_exit = True
    t.join(5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _page(browser, hosts: list[str]):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="allow")

    def route(r):
        hosts.append(urlparse(r.request.url).hostname or r.request.url)
        if urlparse(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            r.abort()

    ctx.route("**/*", route)
    return ctx, ctx.new_page()


def test_arabic_renders_right_to_left(server, browser):
    hosts: list[str] = []
    ctx, page = _page(browser, hosts)
    page.goto(server + "?lang=ar&country=UKR")
    page.wait_for_selector("#results .card")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert page.inner_text("#t-title") == "ابحث عن مساعدة"
    # the header flows right to left: the language menu (first in the markup) is right of the exit button,
    # and the intro text starts at the right edge
    lang_box, exit_box = page.locator("#lang").bounding_box(), page.locator("#exit").bounding_box()
    assert lang_box["x"] > exit_box["x"]
    right = page.evaluate("""(() => { const r = document.createRange(); const t = document.getElementById('t-intro');
        r.selectNodeContents(t); const b = r.getClientRects()[0]; return [b.right, t.getBoundingClientRect().right]; })()""")
    assert abs(right[0] - right[1]) < 2
    page.select_option("#lang", "en")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert page.locator("#lang").bounding_box()["x"] < page.locator("#exit").bounding_box()["x"]
    ctx.close()


def test_quick_exit_leaves_and_clears_the_page(server, browser):
    hosts: list[str] = []
    ctx, page = _page(browser, hosts)
    page.goto(server + "?lang=uk&country=POL")
    page.wait_for_selector("#results .card")
    page.click("#exit")
    page.wait_for_url("**/bye")
    assert page.url.endswith("/bye")
    page.go_back()  # the finder was replaced in history, so Back does not return to it
    assert "/help/" not in page.url
    page.goto(server + "?lang=en&country=POL")
    page.wait_for_selector("#results .card")
    page.keyboard.press("Escape")
    page.wait_for_url("**/bye")
    ctx.close()


def test_no_request_leaves_the_host_and_no_cookie_is_set(server, browser):
    hosts: list[str] = []
    ctx, page = _page(browser, hosts)
    page.goto(server + "?lang=en")
    for country in ("UKR", "DEU", "GBR", "NGA"):
        page.select_option("#country", country)
        page.wait_for_selector("#results .card")
        page.select_option("#need", "shelter")
        page.select_option("#need", "legal_aid")
    assert hosts and set(hosts) == {"127.0.0.1"}
    assert ctx.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    ctx.close()


def test_works_offline_after_the_first_visit(server, browser):
    hosts: list[str] = []
    ctx, page = _page(browser, hosts)
    page.goto(server + "?lang=ro&country=ROU")
    page.wait_for_selector("#results .card")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the service worker now controls the page and keeps what it fetches
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#results .card")
    ctx.set_offline(True)
    page.reload()
    page.wait_for_selector("#results .card")
    assert page.inner_text("#t-title") == "Găsește ajutor"
    ctx.close()


@pytest.mark.parametrize("lang", LANGS)
def test_screenshot_per_language(server, browser, lang, tmp_path):
    out = Path(os.environ.get("SAFELIGHT_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    hosts: list[str] = []
    ctx, page = _page(browser, hosts)
    page.goto(server + f"?lang={lang}&country=UKR")
    page.wait_for_selector("#results .card")
    # no element is wider than the phone screen (a layout break would scroll sideways)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(out / f"help-finder-{lang}.png"), full_page=False)
    assert (out / f"help-finder-{lang}.png").stat().st_size > 10_000
    ctx.close()
