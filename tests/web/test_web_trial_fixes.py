"""Findings of a new-user trial of the web application (2026-12-01): the only administrator
locked out by deactivating itself, a password of spaces, and contributors registered by a
typo (an account's binding, an administrator's upload)."""

from __future__ import annotations

from helpers_web import api_login


def test_the_only_active_administrator_cannot_be_deactivated(client, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "admin")}
    r = client.patch("/api/v1/users/admin", headers=h, json={"active": False})
    assert r.status_code == 422 and "only active administrator" in r.json()["detail"]
    assert client.get("/api/v1/me").status_code == 200  # still signed in
    made = client.post("/api/v1/users", headers=h, json={
        "username": "admin2", "role": "admin", "password": "a long enough pass"})
    assert made.status_code == 200
    # with a second administrator the first may go (and it is signed out)
    assert client.patch("/api/v1/users/admin", headers=h, json={"active": False}).status_code == 200


def test_a_password_of_spaces_is_refused(client, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "admin")}
    r = client.post("/api/v1/users", headers=h, json={
        "username": "blank", "role": "viewer", "password": " " * 14})
    assert r.status_code == 422 and "besides spaces" in r.json()["detail"]


def test_a_contributor_the_hub_does_not_know_is_not_registered_by_a_typo(client, app, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "admin")}
    r = client.post("/api/v1/users", headers=h, json={
        "username": "cw", "role": "caseworker", "contributor": "ua-hotlin",
        "password": "a long enough pass"})
    assert r.status_code == 422 and "new_contributor" in r.json()["detail"]
    names = {c["name"] for c in client.get("/api/v1/contributors").json()}
    assert "ua-hotlin" not in names
    r = client.post("/api/v1/contributions", headers=h,
                    data={"profile": demo_hub.profile("ro-ngo"), "contributor": "nobody-xyz"},
                    files={"file": ("ro-ngo.tsv", demo_hub.export("ro-ngo").read_bytes())})
    assert r.status_code == 422 and "not registered" in r.json()["detail"]
    con = app.state.hub.hub.con
    assert not con.execute("SELECT count(*) FROM cases WHERE contributor = 'nobody-xyz'"
                           ).fetchone()[0]
    r = client.post("/api/v1/users", headers=h, json={
        "username": "newngo", "role": "contributor", "contributor": "md-new-ngo",
        "new_contributor": True, "password": "a long enough pass"})
    assert r.status_code == 200
    assert "md-new-ngo" in {c["name"] for c in client.get("/api/v1/contributors").json()}


def test_an_oversized_upload_is_refused_with_the_limit_and_the_security_headers(demo_hub,
                                                                                tmp_path):
    """The 413 went out as bare text ("Content Too Large") without the security headers:
    FastAPI's body limit sat outside every middleware."""
    from fastapi.testclient import TestClient
    from helpers_web import settings_for

    from safelight.web import create_app

    app = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub, max_upload_mb=1))
    try:
        with TestClient(app) as client:
            h = {"X-CSRF-Token": api_login(client, demo_hub, "rocontrib")}
            big = b"id;g\n" + b"1;female\n" * 300_000  # 2.7 MB
            r = client.post("/api/v1/contributions", headers=h,
                            data={"profile": demo_hub.profile("ro-ngo")},
                            files={"file": ("big.csv", big, "text/csv")})
            assert r.status_code == 413
            assert "larger than 1 MB" in r.json()["detail"]
            assert r.headers["cache-control"] == "no-store"
            assert "content-security-policy" in r.headers
            page = client.post("/contributions", data={"profile": demo_hub.profile("ro-ngo")},
                               files={"file": ("big.csv", big, "text/csv")})  # the page form
            assert page.status_code == 413 and "larger than 1 MB" in page.text
            assert page.headers["cache-control"] == "no-store"
    finally:
        app.state.hub.close()


def test_a_refused_account_form_keeps_what_was_typed_and_guesses_no_role(client, demo_hub):
    """A bad user name cleared the form and the role fell back to the first option, admin:
    retyping only the name made an administrator."""
    import re

    api_login(client, demo_hub, "admin")
    page = client.get("/users").text
    assert '<select id="role" name="role" required><option value="">—</option>' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/users", data={"csrf_token": token, "username": "Олена",
                                    "password": "a long enough pass", "role": "reviewer",
                                    "contributor": ""})
    assert r.status_code == 422
    assert 'value="Олена"' in r.text and '<option value="reviewer" selected>' in r.text
    assert "a long enough pass" not in r.text  # never the password


def _token(page: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_refused_forms_keep_what_was_chosen_and_typed(client, demo_hub):
    """A refused release went back to aggregates, length 2 and the default columns; a review
    decision lost its reason; a refused upload's profile went back to the first one."""
    api_login(client, demo_hub, "admin")
    token = _token(client.get("/releases").text)
    r = client.post("/releases", data={"csrf_token": token, "method": "synthetic", "k": "5",
                                       "length": "3", "columns": ["gender", "year_of_registration"]})
    assert r.status_code == 422
    assert '<option value="synthetic" selected>' in r.text and 'value="3"' in r.text
    assert 'value="year_of_registration" checked' in r.text
    assert 'value="age_band" checked' not in r.text
    client.cookies.clear()
    api_login(client, demo_hub, "rev")
    pid = client.get("/api/v1/review").json()["pairs"][0]["pair_id"]
    token = _token(client.get(f"/review/{pid}").text)
    reason = "the same passport number; " * 90  # over 2,000 characters: refused
    r = client.post(f"/review/{pid}", data={"csrf_token": token, "decision": "non_match",
                                            "reason": reason})
    assert r.status_code == 422
    assert 'value="non_match" checked' in r.text and "the same passport number;" in r.text
    client.cookies.clear()
    api_login(client, demo_hub, "rocontrib")
    page = client.get("/contributions").text
    profiles = [p for p in (demo_hub.profile("ro-ngo"),) if p in page]
    r = client.post("/contributions", data={"csrf_token": _token(page), "profile": profiles[0],
                                            "action": "check"},
                    files={"file": ("x.csv", b"\x00\x01binary", "text/csv")})
    assert r.status_code == 422 and f'<option value="{profiles[0]}" selected>' in r.text


def test_a_page_after_the_session_ended_says_so_on_the_login_page(client, demo_hub):
    api_login(client, demo_hub, "rev")
    client.cookies.set("safelight_session", "a session that has ended")
    r = client.get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("&expired=1")
    assert "Your session has ended" in client.get(r.headers["location"]).text
    client.cookies.clear()
    r = client.get("/review", follow_redirects=False)  # never signed in: no such message
    assert "expired" not in r.headers["location"]


def test_a_contributor_is_offered_its_own_profiles_not_other_agencies(client, app, demo_hub):
    """Profiles in a sub-folder named after a contributor (the demo's layout) are that
    contributor's: another agency's account saw every agency's profile names."""
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacontrib")}
    offered = client.get("/api/v1/profiles").json()
    assert demo_hub.profile("ua-hotline") in offered and "safelight" in offered
    assert not [p for p in offered if p.startswith(("de-police/", "pl-ngo/"))]
    page = client.get("/contributions").text
    assert "de-police" not in page
    r = client.post("/api/v1/contributions", headers=h,
                    data={"profile": demo_hub.profile("de-police")},
                    files={"file": ("x.csv", b"a;b\n1;2\n", "text/csv")})
    assert r.status_code == 422 and "de-police" not in r.json()["detail"].split("choose")[1]
    client.cookies.clear()
    api_login(client, demo_hub, "admin")
    everything = client.get("/api/v1/profiles").json()
    assert demo_hub.profile("de-police") in everything
    assert demo_hub.profile("ua-hotline") in everything


def test_a_profile_folder_of_an_agency_that_sent_nothing_yet_is_its_own(demo_hub, tmp_path):
    """A sub-folder is offered only to the contributor it is named after, also before that
    agency has an account or data (review, 2026-12-01: it was shown to every agency)."""
    import pyotp
    from fastapi.testclient import TestClient
    from helpers_web import PASSWORD, settings_for

    from safelight.web import create_app
    from safelight.web.auth import add_user

    root = tmp_path / "profiles"
    (root / "md-ngo").mkdir(parents=True)
    (root / "md-ngo" / "md.yaml").write_text("x: 1\n")
    (root / "shared.yaml").write_text("x: 1\n")
    app = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub, profiles_dir=str(root)))
    try:
        with TestClient(app) as client:
            api_login(client, demo_hub, "uacontrib")
            offered = client.get("/api/v1/profiles").json()
            assert "shared.yaml" in offered and "md-ngo/md.yaml" not in offered
            secret = add_user(app.state.hub, "mdcontrib", PASSWORD, "contributor",
                              contributor="md-ngo", actor="test", new_contributor=True)
            client.cookies.clear()
            body = {"username": "mdcontrib", "password": PASSWORD}
            if secret:
                body["totp"] = pyotp.TOTP(secret).now()
            assert client.post("/api/v1/session", json=body).status_code == 200
            assert "md-ngo/md.yaml" in client.get("/api/v1/profiles").json()
    finally:
        app.state.hub.close()
