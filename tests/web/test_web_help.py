"""The public help finder inside the web application: open without an account, cookie-free."""

from __future__ import annotations


def test_help_finder_is_public_and_sets_no_cookie(client):
    page = client.get("/help/")
    assert page.status_code == 200
    assert "set-cookie" not in page.headers
    assert "script-src" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    hotlines = client.get("/help/hotlines.json")
    assert hotlines.status_code == 200 and hotlines.json()
    assert client.get("/help/services.json").status_code == 200


def test_help_finder_is_not_part_of_the_authenticated_api(client):
    paths = client.get("/openapi.json")
    assert paths.status_code in (200, 401)
    if paths.status_code == 200:
        assert not [p for p in paths.json()["paths"] if p.startswith("/help")]
