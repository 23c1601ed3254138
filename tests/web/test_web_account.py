"""A signed-in user changes its own password: checked like a sign-in, audited, sessions ended."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from helpers_web import PASSWORD, api_login

NEW = "a much longer new passphrase"


def test_api_password_change_ends_sessions_and_the_new_password_works(client, demo_hub, app):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "view")}
    r = client.post("/api/v1/me/password", headers=h, json={"current": "wrong password!", "new": NEW})
    assert r.status_code == 422 and "current password is wrong" in r.json()["detail"]
    r = client.post("/api/v1/me/password", headers=h, json={"current": PASSWORD, "new": PASSWORD})
    assert r.status_code == 422 and "differ" in r.json()["detail"]
    r = client.post("/api/v1/me/password", headers=h, json={"current": PASSWORD, "new": "short"})
    assert r.status_code == 422
    r = client.post("/api/v1/me/password", headers=h, json={"current": PASSWORD, "new": NEW})
    assert r.status_code == 200 and r.json() == {"changed": True, "signed_out": True}
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/session", json={"username": "view", "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/session", json={"username": "view", "password": NEW}).status_code == 200
    con = app.state.hub.hub.con
    actions = [a for (a,) in con.execute("SELECT action FROM audit_log WHERE actor = 'view' ORDER BY seq").fetchall()]
    assert "web.user_update" in actions and "web.login_failed" in actions
    assert not con.execute("SELECT count(*) FROM audit_log WHERE CAST(details AS VARCHAR) LIKE ?",
                           [f"%{NEW}%"]).fetchone()[0]


def test_api_password_change_needs_the_csrf_header(client, demo_hub):
    api_login(client, demo_hub, "view")
    r = client.post("/api/v1/me/password", json={"current": PASSWORD, "new": NEW})
    assert r.status_code == 403


def test_wrong_current_passwords_are_rate_limited_like_sign_ins(client, demo_hub, app):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "view")}
    limit = app.state.limiter.max
    codes = [client.post("/api/v1/me/password", headers=h, json={"current": f"guess number {i}", "new": NEW}).status_code
             for i in range(limit + 1)]
    assert codes[:limit] == [422] * limit and codes[-1] == 429


def test_page_password_change(client, demo_hub):
    api_login(client, demo_hub, "view")
    page = client.get("/account")
    assert page.status_code == 200 and "Change your password" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": NEW, "again": NEW + "x"})
    assert r.status_code == 422 and "differ" in r.text
    r = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": NEW, "again": NEW},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?changed=1"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert "Your password was changed" in client.get("/login?changed=1").text


def test_new_account_page_shows_the_totp_secret_as_a_local_qr_code(client, demo_hub):
    api_login(client, demo_hub, "admin")
    page = client.get("/users")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/users", data={"csrf_token": token, "username": "newcase", "password": NEW,
                                    "role": "caseworker", "contributor": "ua-hotline"})
    assert r.status_code == 200, r.text[:300]
    qr = re.search(r'<img id="totp-qr" src="([^"]+)"', r.text)
    assert qr and qr.group(1).startswith("data:image/svg+xml")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', r.text).group(1)
    svg = unquote(html.unescape(qr.group(1)))
    assert "<svg" in svg and "<path" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    assert secret not in svg  # drawn as modules, not written as text
