"""The web application through FastAPI's TestClient on a demo-sized hub."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from helpers_web import PASSWORD, api_login

from safelight.web.linkage import PAIR_ID_SQL

API_PUBLIC = {("POST", "/api/v1/session")}


def _audit(app, action: str) -> list[tuple]:
    con = app.state.hub.hub.con
    return con.execute("SELECT actor, object, CAST(details AS VARCHAR) FROM audit_log "
                       "WHERE action = ? ORDER BY seq", [action]).fetchall()


def _concrete(path: str) -> str:
    return (path.replace("{cid}", "1").replace("{rid}", "1").replace("{username}", "admin")
            .replace("{pair_id}", "0" * 32))


def test_every_api_operation_refuses_without_a_session(client):
    spec = client.get("/openapi.json").json()
    ops = [(m.upper(), p) for p, item in spec["paths"].items() for m in item]
    assert len(ops) >= 20
    for method, path in ops:
        if (method, path) in API_PUBLIC:
            continue
        r = client.request(method, _concrete(path))
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])


def test_pages_redirect_to_login_without_a_session(client):
    for path in ("/dashboard", "/contributions", "/records", "/review", "/persons", "/releases",
                 "/users", "/contributions/1", "/services", "/referrals", "/account"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_sign_in_audits_success_and_failure_and_needs_totp(client, app, demo_hub):
    assert client.post("/api/v1/session", json={"username": "admin",
                                                 "password": "wrong password!"}).status_code == 401
    # right password, no TOTP code: refused for an admin
    r = client.post("/api/v1/session", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 401 and "TOTP" in r.json()["detail"]
    assert client.post("/api/v1/session", json={"username": "admin", "password": PASSWORD,
                                                 "totp": "000000"}).status_code == 401
    api_login(client, demo_hub, "admin")
    failures = _audit(app, "web.login_failed")
    assert [json.loads(d)["reason"] for _, _, d in failures] == ["password", "totp", "totp"]
    assert [a for a, _, _ in _audit(app, "web.login")] == ["admin"]
    assert client.get("/api/v1/me").json()["role"] == "admin"


def test_session_cookie_flags_and_security_headers(client, demo_hub):
    r = client.post("/api/v1/session", json={"username": "view", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/dashboard")
    csp = page.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    # nothing loaded from elsewhere (a random CSRF token may spell "cdn": look for URLs)
    assert "//cdn" not in page.text.lower() and "<script" not in page.text.lower()
    assert 'src="http' not in page.text.lower() and "href=\"http" not in page.text.lower()


def test_secure_cookie_when_configured(demo_hub, tmp_path):
    from fastapi.testclient import TestClient
    from helpers_web import settings_for

    from safelight.web import create_app

    app = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub, cookie_secure=True))
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/api/v1/session", json={"username": "view", "password": PASSWORD})
        assert "secure" in r.headers["set-cookie"].lower()
        assert "strict-transport-security" in c.get("/dashboard").headers
    app.state.hub.close()


def test_login_rate_limit_blocks_even_the_right_password(client, app):
    for _ in range(app.state.hub.settings.login_max_failures):
        assert client.post("/api/v1/session", json={"username": "view",
                                                     "password": "bad password 1"}).status_code == 401
    r = client.post("/api/v1/session", json={"username": "view", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert _audit(app, "web.login_blocked")


def test_csrf_token_is_required_on_state_changing_calls(client, demo_hub):
    csrf = api_login(client, demo_hub, "rev")
    pid = client.get("/api/v1/review").json()["pairs"][0]["pair_id"]
    body = {"decision": "non_match", "reason": "different birth years"}
    assert client.post(f"/api/v1/review/{pid}/decision", json=body).status_code == 403
    assert client.post(f"/api/v1/review/{pid}/decision", json=body,
                       headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(f"/api/v1/review/{pid}/decision", json=body,
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    # a page form without the token is refused too
    assert client.post(f"/review/{pid}", data={"decision": "match", "reason": "x"}).status_code == 403


def test_session_survives_a_restart_of_the_cache(client, app, demo_hub):
    api_login(client, demo_hub, "view")
    app.state.hub.sessions.clear()  # as after a restart: read back from the hub
    assert client.get("/api/v1/me").json()["username"] == "view"


def test_idle_session_ends(client, app, demo_hub):
    api_login(client, demo_hub, "view")
    assert client.get("/api/v1/me").status_code == 200
    import datetime as dt

    state = app.state.hub
    with state.lock:  # 31 minutes pass (in the hub and in the session cache)
        state.hub.con.execute(
            "UPDATE web_sessions SET last_seen_at = last_seen_at - INTERVAL 31 MINUTE")
        for row in state.sessions.values():
            row["last_seen_at"] -= dt.timedelta(minutes=31)
    assert client.get("/api/v1/me").status_code == 401
    assert app.state.hub.one("SELECT count(*) AS n FROM web_sessions")["n"] == 0


@pytest.mark.parametrize(("user", "path", "status"), [
    ("view", "/api/v1/review", 403), ("view", "/api/v1/records?contributor=pl-ngo", 403),
    ("view", "/api/v1/dashboard", 200), ("rev", "/api/v1/users", 403),
    ("rev", "/api/v1/persons", 200), ("ana", "/api/v1/records?contributor=pl-ngo", 403),
    ("ana", "/api/v1/releases", 200), ("uacontrib", "/api/v1/persons", 403),
    ("uacontrib", "/api/v1/review", 403), ("admin", "/api/v1/users", 200),
])
def test_roles(client, demo_hub, user, path, status):
    api_login(client, demo_hub, user)
    assert client.get(path).status_code == status


def test_contributor_sees_only_its_own_data(client, app, demo_hub):
    api_login(client, demo_hub, "uacontrib")
    mine = client.get("/api/v1/contributions").json()
    assert mine and {c["contributor"] for c in mine} == {"ua-hotline"}
    other = app.state.hub.one("SELECT contribution_id FROM contributions "
                              "WHERE contributor = 'pl-ngo'")["contribution_id"]
    own = mine[0]["contribution_id"]
    assert client.get(f"/api/v1/contributions/{other}").status_code == 403
    assert client.get(f"/api/v1/contributions/{other}/quarantine").status_code == 403
    assert client.get(f"/api/v1/contributions/{other}/quarantine.csv").status_code == 403
    assert client.get("/api/v1/records?contributor=pl-ngo").status_code == 403
    page = client.get(f"/contributions/{other}")
    assert page.status_code == 403 and "pl-ngo.xlsx" not in page.text
    recs = client.get("/api/v1/records").json()
    assert recs["contributor"] == "ua-hotline" and recs["total"] > 0
    assert client.get(f"/api/v1/contributions/{own}/quarantine").status_code == 200
    assert {o for _, o, _ in _audit(app, "web.refused")} == {f"contribution:{other}",
                                                             "contributor:pl-ngo"}
    reads = [o for _, o, _ in _audit(app, "web.read")]
    assert "records:ua-hotline" in reads and f"quarantine:{own}" in reads


def test_upload_check_bad_file_and_good_file(client, app, demo_hub, tmp_path):
    csrf = api_login(client, demo_hub, "rocontrib")
    h = {"X-CSRF-Token": csrf}
    profile = demo_hub.profile("ro-ngo")
    # a file that is not a table at all: refused with the reader's message, nothing stored
    bad = client.post("/api/v1/contributions", headers=h, data={"profile": profile},
                      files={"file": ("ro-ngo.tsv", b"\x00\x01\x02garbage\xff\xfe", "text/plain")})
    assert bad.status_code == 422 and "ro-ngo.tsv" in bad.json()["detail"]
    assert _audit(app, "web.upload_refused")
    data = demo_hub.export("ro-ngo").read_bytes()
    check = client.post("/api/v1/contributions", headers=h,
                        data={"profile": profile, "check_only": "true"},
                        files={"file": ("ro-ngo.tsv", data)})
    assert check.status_code == 200 and check.json()["checked"]
    assert check.json()["rows_invalid"] > 0 and check.json()["examples"]
    # the dry run's audit entry keeps the content's hash, nothing of the file's name
    (_, _, details), = _audit(app, "web.check")
    assert json.loads(details)["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert "ro-ngo" not in details and hashlib.sha256(b"ro-ngo.tsv").hexdigest() not in details
    n_before = app.state.hub.one("SELECT count(*) AS n FROM contributions")["n"]
    up = client.post("/api/v1/contributions", headers=h, data={"profile": profile},
                     files={"file": ("ro-ngo.tsv", data)})
    assert up.status_code == 200, up.text
    res = up.json()
    assert res["rows_read"] == res["rows_accepted"] + res["rows_quarantined"]
    # the dry run sees every row fault; duplicate record ids only show against the hub
    assert res["rows_quarantined"] >= check.json()["rows_invalid"]
    assert app.state.hub.one("SELECT count(*) AS n FROM contributions")["n"] == n_before + 1
    assert [a for a, _, _ in _audit(app, "ingest")][-1] == "rocontrib"
    # a contributor cannot upload for another contributor
    assert client.post("/api/v1/contributions", headers=h,
                       data={"profile": profile, "contributor": "ua-hotline"},
                       files={"file": ("x.tsv", data)}).status_code == 403
    text = client.get(f"/api/v1/contributions/{res['contribution_id']}/quarantine.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == res["rows_quarantined"] and all(r["rules"] for r in rows)
    assert _audit(app, "web.export")


def test_review_pair_and_decision_are_audited(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "rev")
    q = client.get("/api/v1/review").json()
    assert q["total"] > 0
    pid = q["pairs"][0]["pair_id"]
    pair = client.get(f"/api/v1/review/{pid}").json()
    names = {f["field"] for f in pair["fields"]}
    assert {"given_name", "family_name", "birth_date"} <= names
    weights = [f["weight"] for f in pair["fields"]]
    assert any(w > 0 for w in weights)
    assert pair["left"]["identity"] is not None  # clear mode shows identifiers
    assert "other reviewers may read it" in client.get(f"/review/{pid}").text
    h = {"X-CSRF-Token": csrf}
    assert client.post(f"/api/v1/review/{pid}/decision", headers=h,
                       json={"decision": "maybe", "reason": "x"}).status_code == 422
    r = client.post(f"/api/v1/review/{pid}/decision", headers=h,
                    json={"decision": "match", "reason": "same birth date and name"})
    assert r.status_code == 200
    stored = app.state.hub.one("SELECT decision, decided_by, decision_note FROM link_review "
                               f"WHERE {PAIR_ID_SQL} = ?", [pid])
    assert stored == {"decision": "match", "decided_by": "rev",
                      "decision_note": "same birth date and name"}
    (actor, obj, details), = _audit(app, "link.decision")
    assert actor == "rev" and obj == f"pair:{pid}" and json.loads(details)["decision"] == "match"
    assert f"pair:{pid}" in [o for _, o, _ in _audit(app, "web.read")]
    assert client.get("/api/v1/review?status=decided").json()["total"] == 1
    assert "review:queue" in [o for _, o, _ in _audit(app, "web.read")]  # listing ids is audited
    assert "same birth date" not in details  # free text stays erasable, out of the permanent log
    # the same decision sent again (a form sent twice) records nothing: no "match → match"
    again = client.post(f"/api/v1/review/{pid}/decision", headers=h,
                        json={"decision": "match", "reason": "same birth date and name"})
    assert again.status_code == 200 and len(_audit(app, "link.decision")) == 1
    # a new reason is a change of the decision's record
    assert client.post(f"/api/v1/review/{pid}/decision", headers=h,
                       json={"decision": "match", "reason": "same phone too"}).status_code == 200
    assert len(_audit(app, "link.decision")) == 2


def test_privacy_preserving_mode_hides_identifiers(demo_hub, tmp_path):
    from fastapi.testclient import TestClient
    from helpers_web import settings_for

    from safelight.web import create_app

    app = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub, show_identifiers=False))
    with TestClient(app) as c:
        api_login(c, demo_hub, "rev")
        pid = c.get("/api/v1/review").json()["pairs"][0]["pair_id"]
        pair = c.get(f"/api/v1/review/{pid}").json()
        assert pair["left"]["identity"] is None and pair["right"]["identity"] is None
        assert all(f["left"] is None for f in pair["fields"] if f["field"] != "contributor")
        page = c.get(f"/review/{pid}")
        ident = app.state.hub.one("SELECT family_name FROM identities WHERE record_id = ? AND "
                                  "contributor = ?", [pair["left"]["record_id"],
                                                      pair["left"]["contributor"]])
        if ident and ident["family_name"]:
            assert ident["family_name"] not in page.text
        # the reason's hint says who reads it here (it said "other reviewers may read it")
        assert "only you will read it" in page.text and "other reviewers may" not in page.text
    app.state.hub.close()


def test_release_create_evaluate_download_and_ledger(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "ana")
    below = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                        json={"method": "aggregates", "k": 5, "length": 2,
                              "columns": ["gender", "age_band", "citizenship"]})
    assert below.status_code >= 400 and "small-cell threshold" in below.text  # k under the hub's rule
    r = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                    json={"method": "aggregates", "k": 11, "length": 2,
                          "columns": ["gender", "age_band", "citizenship"]})
    assert r.status_code == 200, r.text
    rel = r.json()
    # the exact input size is the admin's only (releases publish their total as an interval)
    assert rel["evaluation"]["k"] == 11 and rel["rows_in"] is None
    ledger = client.get("/api/v1/releases").json()["releases"]
    assert [x["release_id"] for x in ledger] == [rel["release_id"]]
    assert ledger[0]["actor"] == "ana" and ledger[0]["method"] == "aggregates"
    dl = client.get(f"/api/v1/releases/{rel['release_id']}/download")
    assert dl.status_code == 200
    assert hashlib.sha256(dl.content).hexdigest() == rel["output_sha256"]
    counts = [int(row["count"]) for row in csv.DictReader(io.StringIO(dl.text))]
    assert counts and all(c >= 11 for c in counts if c)  # no released count under k
    assert _audit(app, "release") and _audit(app, "web.export")
    # the same form sent twice: the same file, which the ledger does not record again
    again = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                        json={"method": "aggregates", "k": 11, "length": 2,
                              "columns": ["gender", "age_band", "citizenship"]})
    assert again.status_code == 422 and f"release #{rel['release_id']}" in again.json()["detail"]
    assert len(client.get("/api/v1/releases").json()["releases"]) == 1
    # a viewer may read the ledger but not release
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    v = api_login(client, demo_hub, "view")
    assert client.post("/api/v1/releases", headers={"X-CSRF-Token": v},
                       json={"method": "aggregates"}).status_code == 403


def test_dashboard_api_page_and_chart(client, demo_hub):
    api_login(client, demo_hub, "view")
    d = client.get("/api/v1/dashboard").json()
    inds = d["report"]["indicators"]
    assert len(inds) >= 5
    for ind in inds:  # a suppressed cell never carries a value
        for cell in ind["cells"]:
            if cell["suppressed"]:
                assert cell["count"] is None and cell["share"] is None
    page = client.get("/dashboard")
    assert page.status_code == 200 and inds[0]["title"] in page.text
    one = client.get(f"/dashboard?show={inds[0]['id']}")
    assert inds[0]["title"] in one.text and inds[1]["title"] not in one.text.split("<main")[1] \
        .split("</form>")[1]
    chart_ids = re.findall(r'/dashboard/charts/([\w-]+)\.svg', page.text)
    assert chart_ids
    svg = client.get(f"/dashboard/charts/{chart_ids[0]}.svg")
    assert svg.status_code == 200 and "<svg" in svg.text


def test_persons_seen_by_several(client, demo_hub):
    api_login(client, demo_hub, "ana")
    p = client.get("/api/v1/persons").json()
    assert p["total"] > 0
    assert all(x["contributors"] > 1 and len(x["contributor_names"]) > 1 for x in p["persons"])
    assert client.get("/persons").status_code == 200


def test_admin_manages_users(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "admin")
    h = {"X-CSRF-Token": csrf}
    r = client.post("/api/v1/users", headers=h, json={"username": "newana", "role": "analyst",
                                                      "password": "a long enough pass"})
    assert r.status_code == 200 and r.json()["totp_secret"]
    assert client.post("/api/v1/users", headers=h, json={
        "username": "c2", "role": "contributor", "password": "a long enough pass"}).status_code == 422
    assert client.post("/api/v1/users", headers=h, json={
        "username": "short", "role": "viewer", "password": "short"}).status_code == 422
    # deactivating a user ends their sessions
    from fastapi.testclient import TestClient

    other = TestClient(app)  # a second browser (no lifespan of its own: the hub stays open)
    api_login(other, demo_hub, "view")
    assert other.get("/api/v1/me").status_code == 200
    assert client.patch("/api/v1/users/view", headers=h,
                        json={"active": False}).status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/session", json={"username": "view",
                                                 "password": PASSWORD}).status_code == 401


def test_page_login_with_second_factor(client, demo_hub):
    page = client.get("/login?next=/review")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "rev", "password": PASSWORD,
                                    "pre_token": token, "next": "/review"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/totp")
    # password alone gives no access
    assert client.get("/review", follow_redirects=False).status_code == 303
    page = client.get(r.headers["location"])
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login/totp", data={"code": demo_hub.totp("rev"), "pre_token": token,
                                         "next": "/review"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review"
    assert client.get("/review").status_code == 200


def test_login_form_refuses_a_forged_post_and_external_next(client):
    r = client.post("/login", data={"username": "view", "password": PASSWORD,
                                    "pre_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    page = client.get("/login?next=//evil.example/x")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": "view", "password": PASSWORD,
                                    "pre_token": token, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_language_follows_accept_language_and_switch(client):
    assert "Увійти" in client.get("/login", headers={"Accept-Language": "uk,en;q=0.5"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en"}).text
    client.get("/lang/uk?next=/login")
    assert 'lang="uk"' in client.get("/login", headers={"Accept-Language": "en"}).text


def test_audit_chain_stays_intact(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "admin")
    client.get("/api/v1/records?contributor=pl-ngo")
    client.post("/api/v1/session", json={"username": "x", "password": "y"})
    v = client.get("/api/v1/audit/verify").json()
    assert v["ok"], v
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert _audit(app, "web.logout")


def test_totp_code_cannot_be_replayed(client, demo_hub):
    code = demo_hub.totp("ana")
    body = {"username": "ana", "password": PASSWORD, "totp": code}
    r = client.post("/api/v1/session", json=body)
    assert r.status_code == 200
    client.delete("/api/v1/session", headers={"X-CSRF-Token": r.json()["csrf_token"]})
    assert client.post("/api/v1/session", json=body).status_code == 401


def test_web_settings_round_trip_and_refuse_unknown_keys(tmp_path):
    from safelight.errors import UsageError
    from safelight.web.settings import WebSettings

    s = WebSettings(idle_minutes=10, show_identifiers=False)
    assert WebSettings.load(s.save(tmp_path / "web.json")) == s
    (tmp_path / "bad.json").write_text('{"settings_version": 1, "idle_minuts": 3}')
    with pytest.raises(UsageError, match="idle_minuts"):
        WebSettings.load(tmp_path / "bad.json")


def test_release_views_name_no_server_path(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "ana")
    r = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                    json={"method": "aggregates", "k": 11, "length": 1, "columns": ["gender"]})
    assert r.status_code == 200, r.text
    rid = r.json()["release_id"]
    server = str(app.state.hub.path.parent)
    for body in (client.get("/api/v1/releases").text, client.get(f"/api/v1/releases/{rid}").text,
                 client.get(f"/releases/{rid}").text):
        assert server not in body
    assert client.get(f"/api/v1/releases/{rid}").json()["file"]
    assert client.get(f"/api/v1/releases/{rid}/download").status_code == 200


def test_second_release_is_audited_and_refused_after_a_withdrawal(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "ana")
    body = {"method": "aggregates", "k": 11, "length": 2, "columns": ["gender", "age_band", "citizenship"]}
    first = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf}, json=body)
    assert first.status_code == 200, first.text
    listed = client.get("/api/v1/releases").json()["releases"][0]
    assert "published_intervals" not in json.dumps(listed)  # hub-internal audit data stays in the hub
    # a second release (another one: the same form again is refused as a double submission)
    second = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                         json={**body, "columns": ["gender", "age_band"]})
    assert second.status_code == 200, second.text
    settings = app.state.hub.one("SELECT params FROM releases WHERE release_id = ?", [second.json()["release_id"]])
    assert json.loads(settings["params"])["params"]["earlier_releases_audited"] == 1
    hub = app.state.hub.hub
    record = hub.con.execute("SELECT contributor, record_id FROM cases WHERE consent_statistics LIMIT 1").fetchone()
    with app.state.hub.lock:
        hub.withdraw_consent(record[0], [record[1]], actor="test")
    third = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf}, json=body)
    assert third.status_code == 422 and "withdrawal" in third.json()["detail"]
    # the override is the command line's, and the web says so (it advised a CLI flag bare)
    assert "on the command line with `safelight release hub --after-withdrawal`" in \
        third.json()["detail"]
    assert len(client.get("/api/v1/releases").json()["releases"]) == 2


def test_a_decided_non_match_parts_the_persons_pages_at_once(client, app, demo_hub):
    """The persons the web shows obey a decision as soon as it is recorded, not only after
    the next link run (:func:`safelight.link.hub.apply_review_decision`)."""
    h = {"X-CSRF-Token": api_login(client, demo_hub, "rev")}
    hub = app.state.hub
    pairs = client.get("/api/v1/review?limit=500").json()["pairs"]
    person_of = {(row["contributor"], row["record_id"]): row["person_id"] for row in hub.rows(
        "SELECT contributor, record_id, person_id FROM persons")}
    sides = [((p["left_contributor"], p["left_record_id"]),
              (p["right_contributor"], p["right_record_id"]), p["pair_id"]) for p in pairs]
    left, right, pid = next(s for s in sides if person_of.get(s[0]) == person_of.get(s[1])
                            and s[0] in person_of)
    assert person_of[left] == person_of[right]
    r = client.post(f"/api/v1/review/{pid}/decision", headers=h,
                    json={"decision": "non_match", "reason": "different mothers' names"})
    assert r.status_code == 200 and r.json()["persons_reformed"] >= 2
    after = {(row["contributor"], row["record_id"]): row["person_id"] for row in hub.rows(
        "SELECT contributor, record_id, person_id FROM persons")}
    assert after[left] != after[right]
    shown = client.get("/api/v1/persons?limit=1000").json()["persons"]
    assert not any({f"{left[0]}/{left[1]}", f"{right[0]}/{right[1]}"} <= set(p["record_ids"])
                   for p in shown)
    (_, _, details), = _audit(app, "link.decision")
    assert json.loads(details)["persons_reformed"] == r.json()["persons_reformed"]


def test_a_link_run_waits_for_a_decision_being_recorded(client, app, demo_hub, monkeypatch):
    """A link run (it replaces the open pairs) that starts between reading the pair and
    recording the decision left persons re-formed and an audited decision that was never
    stored: the pair is now read under the lock, so the run waits (review, 2026-12-01)."""
    import threading

    from safelight.web import linkage

    h = {"X-CSRF-Token": api_login(client, demo_hub, "rev")}
    state = app.state.hub
    pid = client.get("/api/v1/review").json()["pairs"][0]["pair_id"]
    read, runs = linkage._pair, []

    def new_run() -> None:  # what a link run does to the open pairs
        with state.write() as hub:
            hub.con.execute("DELETE FROM link_review WHERE decision IS NULL")

    def read_while_a_run_starts(st, pair_id):
        row = read(st, pair_id)
        runs.append(threading.Thread(target=new_run))
        runs[-1].start()
        runs[-1].join(timeout=1.0)  # finishes at once unless the decision holds the lock
        return row

    monkeypatch.setattr(linkage, "_pair", read_while_a_run_starts)
    r = client.post(f"/api/v1/review/{pid}/decision", headers=h,
                    json={"decision": "non_match", "reason": "x"})
    runs[0].join()
    assert r.status_code == 200
    assert state.one("SELECT count(*) AS n FROM link_review WHERE decision IS NOT NULL")["n"] == 1
    assert len(_audit(app, "link.decision")) == 1


def test_a_role_refusal_is_audited_without_the_request_s_values(client, app, demo_hub):
    """Refused sign-ins, exports and other agencies' records were audited, a route the role may
    not use was not: an account probing what it may not see left no trace."""
    api_login(client, demo_hub, "view")
    assert client.get("/api/v1/records?contributor=pl-ngo").status_code == 403
    assert client.get("/review?contributor=pl-ngo").status_code == 403  # a page
    refused = [(a, o, d) for a, o, d in _audit(app, "web.refused") if o.startswith("route:")]
    assert [(a, o) for a, o, _ in refused] == [("view", "route:records"), ("view", "route:review")]
    assert all(json.loads(d) == {"reason": "role", "role": "viewer", "method": "GET"}
               for _, _, d in refused)
    assert "pl-ngo" not in repr(refused)


def test_a_web_release_file_appears_only_after_its_ledger_record(client, app, demo_hub,
                                                                  monkeypatch):
    """The server killed between writing a release file and recording it left a visible,
    unrecorded file in its releases folder. The file is now written hidden and renamed into
    place after the record (the record hashes the hidden file)."""
    from safelight.release.ledger import Ledger

    seen = []
    record = Ledger.record_aggregates

    def watching(self, dataset, rel, settings, **kw):
        out = Path(kw["output_path"]).parent
        seen.append(sorted(p.name for p in out.iterdir()))
        return record(self, dataset, rel, settings, **kw)

    monkeypatch.setattr(Ledger, "record_aggregates", watching)
    csrf = api_login(client, demo_hub, "ana")
    r = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                    json={"method": "aggregates", "k": 11, "length": 2,
                          "columns": ["gender", "age_band", "citizenship"]})
    assert r.status_code == 200, r.text
    assert seen == [[".aggregates.csv.partial", "PUBLISH.txt", "evaluation.html",
                     "evaluation.json", "settings.json"]]
    dl = client.get(f"/api/v1/releases/{r.json()['release_id']}/download")
    assert hashlib.sha256(dl.content).hexdigest() == r.json()["output_sha256"]
