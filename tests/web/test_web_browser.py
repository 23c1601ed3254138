"""Browser tests: headless Debian Chromium (Playwright) against a real uvicorn server on a free
loopback port. Skipped with a message when Chromium or Playwright is absent."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
from helpers_web import PASSWORD, settings_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="Debian's chromium is not installed (apt install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(demo_hub, tmp_path):
    import uvicorn

    from safelight.web import create_app

    app = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(accept_downloads=True, locale="en-GB")
        pg = context.new_page()
        pg.set_default_timeout(20_000)
        yield pg
        context.close()
        browser.close()


def _sign_in(page, base: str, user: str, demo_hub, next_path: str = "/dashboard") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user in demo_hub.secrets:
        page.get_by_label("Code").fill(demo_hub.totp(user))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}{next_path}*")


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_contributor_uploads_sees_errors_and_is_refused_elsewhere(server, page, demo_hub,
                                                                  tmp_path):
    base, app = server
    _sign_in(page, base, "rocontrib", demo_hub)
    # keyboard: the first Tab reaches the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    assert page.locator("section.indicator").count() >= 5
    page.get_by_role("link", name="Contributions").click()
    profile = demo_hub.profile("ro-ngo")
    # a bad file: the error is shown and nothing is stored
    bad = tmp_path / "ro-ngo-broken.tsv"
    bad.write_bytes(b"\x00\x01\x02 not a table \xff\xfe")
    page.get_by_label("Mapping profile").select_option(profile)
    page.get_by_label("File (CSV").set_input_files(str(bad))
    page.get_by_role("button", name="Upload", exact=True).click()
    err = page.locator("#upload-error")
    assert err.is_visible() and "ro-ngo-broken.tsv" in err.inner_text()
    # a good file with some faulty rows: counts and quarantine
    page.get_by_label("Mapping profile").select_option(profile)
    page.get_by_label("File (CSV").set_input_files(str(demo_hub.export("ro-ngo")))
    page.get_by_role("button", name="Upload", exact=True).click()
    result = page.locator("#upload-result")
    assert "Ingested" in result.inner_text() and "quarantined" in result.inner_text()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download the quarantine (CSV)").click()
    text = open(dl.value.path(), encoding="utf-8").read()
    assert text.startswith("source_row,rules") and len(text.splitlines()) > 1
    # another contributor's contribution is refused
    other = app.state.hub.one("SELECT contribution_id FROM contributions "
                              "WHERE contributor = 'pl-ngo'")["contribution_id"]
    resp = page.goto(f"{base}/contributions/{other}")
    assert resp.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert "pl-ngo.xlsx" not in page.content()
    # and so is a page of another role
    assert page.goto(f"{base}/review").status == 403


def test_reviewer_decides_a_pair_and_analyst_releases(server, page, demo_hub):
    base, app = server
    _sign_in(page, base, "rev", demo_hub, "/review")
    page.locator("table tbody tr a").first.click()
    assert page.get_by_role("heading", name="Are these the same person?").is_visible()
    assert page.locator("table.pair tbody tr").count() >= 5
    page.get_by_label("match", exact=True).check()
    page.get_by_label("Reason").fill("same name, birth date and nationality")
    page.get_by_role("button", name="Record the decision").click()
    assert "match" in page.locator("#decision-status").inner_text()
    assert app.state.hub.one("SELECT count(*) AS n FROM link_review WHERE decided_by = 'rev'")["n"] == 1
    _sign_out(page)

    _sign_in(page, base, "ana", demo_hub, "/releases")
    page.get_by_label("k (").fill("11")
    page.get_by_role("button", name="Make the release").click()
    page.wait_for_url(f"{base}/releases/*")
    # the evaluation holds exact figures of the sensitive table: an administrator's only
    assert page.locator("#evaluation").count() == 0
    with page.expect_download() as dl:
        page.locator("#download").click()
    lines = open(dl.value.path(), encoding="utf-8").read().splitlines()
    # k-aggregates as intervals: the published count lies in [count_low, count_high]
    assert lines[0].replace('"', '').split(",")[-4:] == ["length", "count", "count_low", "count_high"]
    assert len(lines) > 2
    page.get_by_role("link", name="Back to the ledger").click()
    assert page.locator("table tbody tr").count() == 1
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("img.chart").count() >= 1
    first = page.locator("section.indicator").first.get_attribute("aria-labelledby")[2:]
    page.get_by_label("Indicator").select_option(first)
    page.get_by_role("button", name="Show").click()
    assert page.locator("section.indicator").count() == 1
    page.wait_for_function("document.querySelector('img.chart').complete && "
                           "document.querySelector('img.chart').naturalWidth > 0")


def test_ukrainian_pages(server, page, demo_hub):
    base, _ = server
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Українська").click()
    assert page.get_by_role("heading", name="Увійти").is_visible()
    assert page.locator("html").get_attribute("lang") == "uk"
