"""Findings of the web application's privacy review (4-12), each pinned by a test that fails
without its fix: what the audit chain keeps of refused uploads and sign-ins, exact counts of
releases, uploads read only after the role check, the contributor's second factor, server
paths, audited refusals, caching, the dashboard's fragment cache, and account changes."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from helpers_web import PASSWORD, api_login

from safelight.web.roles import TOTP_ROLES

# a headerless export: its first row (a person) is what a reader takes for the header
HEADERLESS = "ГЛ-2017-000777;01.02.2017;Присяжнюк;Олена;01.07.1978;+380 50 926 58 23\r\n"
FILE_NAME = "Prysiazhniuk Olena.csv"
RELEASE = {"k": 11, "length": 1, "columns": ["gender"]}


def _audit(app, action: str) -> list[tuple]:
    con = app.state.hub.hub.con
    return con.execute("SELECT actor, object, CAST(details AS VARCHAR) FROM audit_log "
                       "WHERE action = ? ORDER BY seq", [action]).fetchall()


def _all_audit_text(app) -> str:
    con = app.state.hub.hub.con
    return json.dumps(con.execute("SELECT actor, object, CAST(details AS VARCHAR) "
                                  "FROM audit_log").fetchall(), ensure_ascii=False)


# ---- 4 and 8: a refused upload

def test_refused_upload_keeps_no_identifier_in_the_audit_and_shows_no_server_path(
        client, app, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacontrib")}
    r = client.post("/api/v1/contributions", headers=h, data={"profile": "safelight"},
                    files={"file": (FILE_NAME, HEADERLESS.encode(), "text/csv")})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert FILE_NAME in detail  # the user is told which file
    assert str(app.state.hub.path.parent) not in detail and ".upload-" not in detail
    (actor, obj, details), = _audit(app, "web.upload_refused")
    assert actor == "uacontrib" and obj == "contributor:ua-hotline"
    assert json.loads(details) == {
        "error": "InputFileError",
        "file_sha256": hashlib.sha256(HEADERLESS.encode()).hexdigest()}
    text = _all_audit_text(app)
    # not even the file name's hash: hashing a list of names would reverse it
    for value in ("Присяжнюк", "Олена", "380 50", "Prysiazhniuk",
                  hashlib.sha256(FILE_NAME.encode()).hexdigest()):
        assert value not in text


def test_refused_upload_page_shows_no_server_path(client, app, demo_hub):
    api_login(client, demo_hub, "uacontrib")
    token = client.get("/contributions").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/contributions", data={"csrf_token": token, "profile": "safelight"},
                    files={"file": ("bad.xlsx", b"PK\x03\x04garbage", "application/octet-stream")})
    assert r.status_code == 422 and "bad.xlsx" in r.text
    assert str(app.state.hub.path.parent) not in r.text


# ---- 4: a refused sign-in

def test_failed_sign_in_keeps_only_the_name_of_an_existing_account(client, app):
    typed = "my secret passphrase"  # a password typed into the user name field
    assert client.post("/api/v1/session", json={"username": typed,
                                                 "password": ""}).status_code == 401
    assert client.post("/api/v1/session", json={"username": "view",
                                                 "password": "wrong password!"}).status_code == 401
    failed = _audit(app, "web.login_failed")
    assert [(a, json.loads(d)) for a, _, d in failed] == [
        ("-", {"reason": "password", "user": None}), ("-", {"reason": "password", "user": "view"})]
    for _ in range(app.state.limiter.max):
        client.post("/api/v1/session", json={"username": typed, "password": "x"})
    assert client.post("/api/v1/session", json={"username": typed, "password": "x"}).status_code == 429
    assert {(a, json.loads(d)["user"]) for a, _, d in _audit(app, "web.login_blocked")} == {("-", None)}
    assert typed not in _all_audit_text(app)


# ---- 5: exact counts of releases

def _release(client, csrf: str, method: str = "aggregates") -> dict:
    r = client.post("/api/v1/releases", headers={"X-CSRF-Token": csrf},
                    json={"method": method, **RELEASE})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("method", ["aggregates", "synthetic"])
def test_only_the_admin_sees_the_exact_input_size_of_a_release(client, app, demo_hub, method):
    made = _release(client, api_login(client, demo_hub, "ana"), method)
    exact = app.state.hub.one("SELECT rows_in FROM releases WHERE release_id = ?",
                              [made["release_id"]])["rows_in"]
    assert exact > 0 and made["rows_in"] is None
    assert "sensitive_rows" not in made["evaluation"] and "released_rows" not in made["evaluation"]
    rid = made["release_id"]
    for user in ("ana", "view", "admin"):  # ana is signed in (a TOTP code counts once)
        if user != "ana":
            api_login(client, demo_hub, user)
        listed = client.get("/api/v1/releases").json()["releases"][0]
        one = client.get(f"/api/v1/releases/{rid}").json()
        page = client.get(f"/releases/{rid}").text
        if user == "admin":
            assert listed["rows_in"] == one["rows_in"] == exact
            assert one["params"]["source"]["rows"] == one["evaluation"]["sensitive_rows"] == exact
            assert f"<dd>{exact}</dd>" in page
        else:
            assert listed["rows_in"] is None and one["rows_in"] is None
            assert "rows" not in listed["params"]["source"] and "rows" not in one["params"]["source"]
            assert not {"sensitive_rows", "released_rows"} & set(one["evaluation"])
            assert f"<dd>{exact}</dd>" not in page and f"({exact} " not in page
            assert "rows in" not in client.get("/releases").text


# ---- 6: an upload's body is read only after the role check

def _post_upload(app, path: str, cookie: str | None, megabytes: int) -> tuple[int, int]:
    """POST a multipart body of ``megabytes`` MiB straight to the ASGI app; returns the status
    and the bytes the application took from the body stream."""
    head = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n")
    tail = b'\r\n--B\r\nContent-Disposition: form-data; name="profile"\r\n\r\nsafelight\r\n--B--\r\n'
    chunks = [head, *([b"x" * (1 << 20)] * megabytes), tail]
    taken = [0, 0]  # messages, bytes
    status = []

    async def receive():
        if taken[0] < len(chunks):
            chunk = chunks[taken[0]]
            taken[0] += 1
            taken[1] += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": taken[0] < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    headers = [(b"host", b"testserver"),
               (b"content-type", b"multipart/form-data; boundary=B"),
               (b"content-length", str(sum(map(len, chunks))).encode())]
    if cookie:
        headers.append((b"cookie", f"safelight_session={cookie}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return status[0], taken[1]


def test_an_unauthorised_upload_is_refused_before_its_body_is_read(client, app, demo_hub):
    for path in ("/api/v1/contributions", "/contributions"):
        status, read = _post_upload(app, path, None, 50)
        assert status in (401, 303) and read == 0, (path, status, read)
    api_login(client, demo_hub, "view")  # signed in, but not a role that uploads
    for path in ("/api/v1/contributions", "/contributions"):
        status, read = _post_upload(app, path, client.cookies["safelight_session"], 50)
        assert status == 403 and read == 0, (path, status, read)
    # the probe sees reads: an uploading role's body is read (then refused for its CSRF token)
    api_login(client, demo_hub, "uacontrib")
    status, read = _post_upload(app, "/contributions", client.cookies["safelight_session"], 2)
    assert status == 403 and read > 2 << 20


def test_upload_api_still_validates_its_fields(client, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacontrib")}
    r = client.post("/api/v1/contributions", headers=h, data={"profile": "safelight"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = client.post("/api/v1/contributions", headers=h, files={"file": ("a.csv", b"x\n1\n")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "profile"]
    r = client.post("/api/v1/contributions", headers=h,
                    data={"profile": "safelight", "check_only": "maybe"},
                    files={"file": ("a.csv", b"record_id\n1\n")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "check_only"]
    spec = client.get("/openapi.json").json()["paths"]["/api/v1/contributions"]["post"]
    schema = spec["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file", "profile"] and "check_only" in schema["properties"]


# ---- 7: contributors need a second factor

def test_contributor_accounts_need_a_second_factor(client, demo_hub):
    assert "contributor" in TOTP_ROLES and "uacontrib" in demo_hub.secrets
    r = client.post("/api/v1/session", json={"username": "uacontrib", "password": PASSWORD})
    assert r.status_code == 401 and "TOTP" in r.json()["detail"]
    page = client.get("/login")
    token = page.text.split('name="pre_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "uacontrib", "password": PASSWORD,
                                    "pre_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/totp")
    assert client.get("/contributions/1/quarantine.csv", follow_redirects=False).status_code == 303
    api_login(client, demo_hub, "uacontrib")
    assert client.get("/api/v1/me").json()["role"] == "contributor"


# ---- 8 and 12: release files that moved or changed

def test_missing_or_altered_release_file_names_no_path_and_altered_is_a_server_error(
        client, app, demo_hub):
    rid = _release(client, api_login(client, demo_hub, "ana"))["release_id"]
    api_login(client, demo_hub, "view")
    path = next(app.state.hub.releases_dir.glob("*/aggregates.csv"))
    server = str(app.state.hub.path.parent)
    with path.open("a") as fh:
        fh.write("x\n")
    r = client.get(f"/api/v1/releases/{rid}/download")
    assert r.status_code == 500 and "restore it from backup" in r.json()["detail"]
    assert server not in r.text
    page = client.get(f"/releases/{rid}/download")
    assert page.status_code == 500 and server not in page.text
    assert [(a, o) for a, o, _ in _audit(app, "web.refused")] == [("view", f"release:{rid}")] * 2
    path.unlink()
    r = client.get(f"/api/v1/releases/{rid}/download")
    assert r.status_code == 404 and server not in r.text and "no longer on the server" in r.text


# ---- 9: refusals are audited, referral listings are reads

def test_refused_scope_and_referral_listing_are_audited(client, app, demo_hub):
    api_login(client, demo_hub, "uacontrib")
    assert client.get("/api/v1/records?contributor=pl-ngo").status_code == 403
    assert client.get("/api/v1/records?contributor=Olena%20Prysiazhniuk").status_code == 403
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacase")}
    r = client.post("/api/v1/referrals/consents", headers=h,
                    json={"record_id": "2022-0000063", "contributor": "pl-ngo"})
    assert r.status_code == 403
    assert client.get("/api/v1/referrals").status_code == 200
    assert [(a, o, json.loads(d)["reason"]) for a, o, d in _audit(app, "web.refused")] == [
        ("uacontrib", "contributor:pl-ngo", "other contributor"),
        ("uacontrib", "contributor:?", "other contributor"),  # not a contributor: not kept
        ("uacase", "contributor:pl-ngo", "other contributor")]
    assert ("uacase", "referrals:ua-hotline") in [(a, o) for a, o, _ in _audit(app, "web.read")]
    assert "Prysiazhniuk" not in _all_audit_text(app)


# ---- 10: nothing but the stylesheet may be cached

def test_answers_are_not_cached_except_the_stylesheet(client, app, demo_hub):
    api_login(client, demo_hub, "uacontrib")
    for path in ("/api/v1/records", "/api/v1/contributions/1/quarantine",
                 "/api/v1/contributions/1/quarantine.csv", "/contributions/1/quarantine.csv",
                 "/api/v1/me", "/api/v1/dashboard"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers.get("cache-control") == "no-store", path
    rid = _release(client, api_login(client, demo_hub, "ana"))["release_id"]
    assert client.get(f"/api/v1/releases/{rid}/download").headers["cache-control"] == "no-store"
    assert client.get("/api/v1/nothing-here").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/style.css").headers.get("cache-control", "")


# ---- 11: the dashboard caches known indicators only

def test_dashboard_refuses_unknown_indicators_and_does_not_cache_them(client, app, demo_hub):
    api_login(client, demo_hub, "view")
    assert client.get("/dashboard").status_code == 200
    known = client.get("/api/v1/dashboard").json()["report"]["indicators"][0]["id"]
    assert client.get(f"/dashboard?show={known}").status_code == 200
    fragments = app.state.dashboard.get()["_fragments"]
    cached = len(fragments)
    for i in range(20):
        assert client.get(f"/dashboard?show=x{i:060d}").status_code == 404
    assert len(fragments) == cached == 2


# ---- 12: account changes and messages

def test_new_totp_secret_ends_the_accounts_sessions(client, app, demo_hub):
    from fastapi.testclient import TestClient

    other = TestClient(app)
    api_login(other, demo_hub, "rev")
    assert other.get("/api/v1/me").status_code == 200
    h = {"X-CSRF-Token": api_login(client, demo_hub, "admin")}
    r = client.patch("/api/v1/users/rev", headers=h, json={"reset_totp": True})
    assert r.status_code == 200 and r.json()["totp_secret"]
    assert other.get("/api/v1/me").status_code == 401
    app.state.hub.sessions.clear()  # not only the cache: the hub holds no session of rev
    assert other.get("/api/v1/me").status_code == 401


def test_caseworker_messages_name_no_command_line_tool(client, app, demo_hub):
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacase")}
    r = client.post("/api/v1/referrals/consents", headers=h, json={"record_id": "no-such-case"})
    assert r.status_code == 422 and "not in the hub" in r.json()["detail"]
    record = app.state.hub.one("SELECT record_id FROM cases WHERE contributor = 'ua-hotline' "
                               "AND consent <> 'withdrawn' ORDER BY record_id LIMIT 1")["record_id"]
    service = app.state.hub.one("SELECT service_id FROM refer_services LIMIT 1")["service_id"]
    r = client.post("/api/v1/referrals", headers=h, json={"record_id": record,
                                                          "service_id": service})
    assert r.status_code == 422 and "no recorded consent" in r.json()["detail"]
    r2 = client.post("/api/v1/referrals", headers=h, json={"record_id": record,
                                                           "service_id": "no-such-service"})
    assert r2.status_code == 422 and "not in the directory" in r2.json()["detail"]
    for detail in (r.json()["detail"], r2.json()["detail"]):
        assert "safelight " not in detail and "`" not in detail


def test_an_accepted_upload_s_name_stays_with_the_sender_and_the_administrator(
        client, app, demo_hub):
    """A file's name may name a person: the permanent audit chain keeps the file's content
    SHA-256, not the name (nor a hash of it, which a list of surnames would reverse), and
    of the roles that list contributions only an administrator and the sending contributor
    read it (privacy review, 2026-12-01: the accepted upload's name went to the audit log in
    clear and to analysts through the API)."""
    name = "Prysiazhniuk Olena (ro).tsv"
    h = {"X-CSRF-Token": api_login(client, demo_hub, "rocontrib")}
    up = client.post("/api/v1/contributions", headers=h,
                     data={"profile": demo_hub.profile("ro-ngo")},
                     files={"file": (name, demo_hub.export("ro-ngo").read_bytes())})
    assert up.status_code == 200, up.text
    cid = up.json()["contribution_id"]
    (_, _, details), = [e for e in _audit(app, "ingest") if e[1] == f"contribution:{cid}"]
    from safelight.web.services import _safe_name  # the name the upload is stored under

    stored = _safe_name(name)
    assert set(json.loads(details)) == {"contributor", "sha256", "profile", "rows_read",
                                        "accepted", "quarantined"}  # no name, nor its hash
    assert "Prysiazhniuk" not in _all_audit_text(app)
    assert client.get(f"/api/v1/contributions/{cid}").json()["file_name"] == stored  # sender
    client.cookies.clear()
    api_login(client, demo_hub, "ana")
    listed = {c["contribution_id"]: c for c in client.get("/api/v1/contributions").json()}
    assert listed[cid]["file_name"] is None
    assert client.get(f"/api/v1/contributions/{cid}").json()["file_name"] is None
    assert "Prysiazhniuk" not in client.get("/contributions").text
    client.cookies.clear()
    api_login(client, demo_hub, "admin")
    assert client.get(f"/api/v1/contributions/{cid}").json()["file_name"] == stored


def test_reader_notes_that_quote_sheet_names_stay_with_the_sender_and_the_administrator(
        client, app, demo_hub):
    """A workbook's sheet may be named after the person it concerns, and the reader's note
    quotes the sheet names (privacy review, 2026-12-01: an analyst read "sheet 'Olena
    Prysiazhniuk' chosen of ..." through the API while the file name was hidden)."""
    note = "sheet 'Olena Prysiazhniuk' chosen of Olena Prysiazhniuk, Uwagi"
    con = app.state.hub.hub.con
    cid, contributor = con.execute("SELECT contribution_id, contributor FROM contributions "
                                   "ORDER BY contribution_id LIMIT 1").fetchone()
    con.execute("UPDATE contributions SET reader_notes = [?] WHERE contribution_id = ?",
                [note, cid])
    api_login(client, demo_hub, "ana")
    assert client.get(f"/api/v1/contributions/{cid}").json()["reader_notes"] is None
    assert "Prysiazhniuk" not in client.get(f"/contributions/{cid}").text
    client.cookies.clear()
    api_login(client, demo_hub, "admin")
    assert client.get(f"/api/v1/contributions/{cid}").json()["reader_notes"] == [note]


def test_a_partial_birth_date_is_shown_on_the_pair_page(client, app, demo_hub):
    """A record with a year alone showed its birth date as "—" while the explanation beside it
    weighed the same year +5 bits (a new-user trial of the hub, 2026-12-02)."""
    from safelight.web.linkage import PAIR_ID_SQL

    api_login(client, demo_hub, "rev")
    con = app.state.hub.hub.con
    row = con.execute(f"""SELECT {PAIR_ID_SQL} AS pair_id, i.birth_year, i.birth_month,
            left_contributor = i.contributor AND left_record_id = i.record_id AS on_left
        FROM link_review JOIN identities i ON (i.contributor, i.record_id) IN
            ((left_contributor, left_record_id), (right_contributor, right_record_id))
        WHERE i.birth_date IS NULL AND i.birth_year IS NOT NULL LIMIT 1""").fetchone()
    if row is None:
        pytest.skip("the demo hub's queue holds no record with a partial birth date")
    pid, year, month, on_left = row
    pair = client.get(f"/api/v1/review/{pid}").json()
    shown = next(f for f in pair["fields"] if f["field"] == "birth_date")
    value = shown["left" if on_left else "right"]
    assert value == f"{year:04d}" + (f"-{month:02d}" if month else "")
