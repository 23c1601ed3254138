"""Consent withdrawal from the records page (the command line had it; an agency's staff work in
the web application): the same checks and effects as `safelight consent withdraw`."""

from __future__ import annotations

import re

from helpers_web import api_login


def _form_token(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text).group(1)


def _case(con, contributor: str, record_id: str):
    return con.execute("SELECT consent, consent_linkage, consent_statistics FROM cases "
                       "WHERE contributor = ? AND record_id = ?", [contributor, record_id]
                       ).fetchone()


def test_a_contributor_withdraws_consent_for_its_own_records(client, app, demo_hub):
    con = app.state.hub.hub.con
    mine = [r for (r,) in con.execute("SELECT record_id FROM cases WHERE contributor = 'ua-hotline' "
                                      "ORDER BY record_id LIMIT 2").fetchall()]
    identities = con.execute("SELECT count(*) FROM identities WHERE contributor = 'ua-hotline' "
                             "AND list_contains(?, record_id)", [mine]).fetchone()[0]
    assert identities == 2
    api_login(client, demo_hub, "uacontrib")
    token = _form_token(client, "/records")
    # another agency's name is refused (and audited): a bound account acts for its own
    r = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "de-police", "record_ids": mine[0]})
    assert r.status_code == 403 and _case(con, "ua-hotline", mine[0])[1] is True
    r = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "ua-hotline",
        "record_ids": f"{mine[0]}\n{mine[1]}, {mine[0]}", "reason": "asked by phone"},
        follow_redirects=False)
    # Post/Redirect/Get: reloading the report does not send the form again; the redirect
    # carries counts only, never a record id
    assert r.status_code == 303, r.text
    assert mine[0] not in r.headers["location"] and mine[1] not in r.headers["location"]
    r = client.get(r.headers["location"])
    assert r.status_code == 200, r.text
    assert "Consent withdrawn" in r.text and "2 case(s) withdrawn" in r.text
    for rid in mine:
        assert _case(con, "ua-hotline", rid)[1:] == (False, False)
    assert con.execute("SELECT count(*) FROM identities WHERE contributor = 'ua-hotline' AND "
                       "list_contains(?, record_id)", [mine]).fetchone()[0] == 0
    actor, details = con.execute("SELECT actor, CAST(details AS VARCHAR) FROM audit_log WHERE "
                                 "action = 'withdraw_consent' ORDER BY seq DESC LIMIT 1"
                                 ).fetchone()
    assert actor == "uacontrib" and "asked by phone" not in details


def test_ids_the_hub_does_not_hold_are_refused_and_nothing_is_withdrawn(client, app, demo_hub):
    con = app.state.hub.hub.con
    rid = con.execute("SELECT record_id FROM cases WHERE contributor = 'ua-hotline' LIMIT 1"
                      ).fetchone()[0]
    api_login(client, demo_hub, "admin")
    token = _form_token(client, "/records?contributor=ua-hotline")
    r = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "ua-hotline", "record_ids": f"{rid}\nno-such-id"})
    assert r.status_code == 422 and "no-such-id" in r.text and "nothing was withdrawn" in r.text
    assert "no-such-id" in r.text.split('name="record_ids"')[1]  # the ids stay typed
    assert _case(con, "ua-hotline", rid)[1] is True
    assert con.execute("SELECT count(*) FROM consent_withdrawals").fetchone()[0] == 0
    # a withdrawal for records still to come is recorded when the box says so
    r = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "ua-hotline", "record_ids": "future-1",
        "not_yet_received": "true"})
    assert r.status_code == 200 and "remembered" in r.text
    assert con.execute("SELECT record_id FROM consent_withdrawals").fetchall() == [("future-1",)]


def test_roles_without_the_records_page_cannot_withdraw(client, app, demo_hub):
    api_login(client, demo_hub, "rev")
    token = _form_token(client, "/review")
    r = client.post("/records/withdraw", data={"csrf_token": token, "contributor": "ua-hotline",
                                               "record_ids": "x"})
    assert r.status_code == 403
    assert app.state.hub.hub.con.execute("SELECT count(*) FROM consent_withdrawals"
                                         ).fetchone()[0] == 0


def test_the_form_needs_its_csrf_token(client, app, demo_hub):
    api_login(client, demo_hub, "admin")
    r = client.post("/records/withdraw", data={"csrf_token": "forged", "contributor": "ua-hotline",
                                               "record_ids": "x"})
    assert r.status_code in (400, 403)


def test_the_page_counts_what_a_withdrawal_touched(client, app, demo_hub):
    """A record held only in the quarantine is redacted, and the page says so (it said the id
    was "not in the hub yet": a review, 2026-12-02); a tab inside an id (a spreadsheet row
    pasted whole, a name in it) is refused, since withdrawals are never erased."""
    con = app.state.hub.hub.con
    row = con.execute("SELECT q.raw FROM quarantine q JOIN contributions c USING "
                      "(contribution_id) WHERE c.contributor = 'ua-hotline' LIMIT 1").fetchone()
    assert row is not None
    api_login(client, demo_hub, "uacontrib")
    token = _form_token(client, "/records")
    pasted = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "ua-hotline", "record_ids": "X-1\tOlena Petrenko"})
    assert pasted.status_code == 422 and "tab" in pasted.text
    assert con.execute("SELECT count(*) FROM consent_withdrawals").fetchone()[0] == 0
    # an id held only by a quarantined row: a value of such a row that no case carries and
    # that the hub knows (the same test as the command's)
    import json

    hub = app.state.hub.hub
    cases = {r for (r,) in con.execute("SELECT record_id FROM cases").fetchall()}
    values = {str(v) for (raw,) in con.execute(
        "SELECT q.raw FROM quarantine q JOIN contributions c USING (contribution_id) "
        "WHERE c.contributor = 'ua-hotline'").fetchall()
        for v in (json.loads(raw).values() if raw.startswith("{") else []) if v}
    held = [v for v in sorted(values - cases) if not hub.unknown_record_ids("ua-hotline", [v])]
    assert held
    r = client.post("/records/withdraw", data={
        "csrf_token": token, "contributor": "ua-hotline", "record_ids": held[0]})
    assert r.status_code == 200, r.text
    assert "1 quarantined row(s) redacted" in r.text
    assert "not in the hub yet" not in r.text and "safelight compact" in r.text


def test_a_records_link_with_a_malformed_report_shows_no_report(client, app, demo_hub):
    api_login(client, demo_hub, "uacontrib")
    for done in ("1,2", "a,b,c,d,e", "1,2,3,4,-5", "9" * 300):
        r = client.get("/records", params={"contributor": "ua-hotline", "done": done})
        assert r.status_code in (200, 422) and "Consent withdrawn" not in r.text


def test_a_paste_longer_than_the_form_takes_says_what_to_do(client, app, demo_hub):
    """Over 1,000,000 characters of ids (the field's limit), or any field over the form
    parser's 1 MB (as sent, URL-encoded), the page said "record_ids: String should have at most
    1000000 characters" or "Field exceeded maximum size of 1024KB."; it now says what to do,
    in the reader's language, and nothing is withdrawn."""
    con = app.state.hub.hub.con
    before = con.execute("SELECT count(*) FROM cases WHERE consent_linkage").fetchone()[0]
    api_login(client, demo_hub, "uacontrib")
    token = _form_token(client, "/records")
    for data, says in (({"record_ids": "x" * 1_000_001},
                         "longer than the form takes (1,000,000 characters)"),
                        ({"record_ids": "x" * 1_100_000}, "larger than it takes (1 MB a field"),
                        # 900,000 characters that are 1.5 MB as sent: the parser's limit
                        ({"record_ids": "ab," * 300_000}, "larger than it takes (1 MB a field"),
                        ({"record_ids": "a", "reason": "x" * 1_100_000},
                         "larger than it takes (1 MB a field")):
        r = client.post("/records/withdraw", data={
            "csrf_token": token, "contributor": "ua-hotline", **data})
        assert r.status_code == 422, r.text[:300]
        assert says in r.text
        assert "several parts" in r.text and "safelight consent withdraw" in r.text
        assert "exceeded maximum size" not in r.text and "String should" not in r.text
    # another field over its limit too: the plain validation message, naming both
    r = client.post("/records/withdraw", data={"csrf_token": token, "contributor": "ua-hotline",
                                               "record_ids": "x" * 1_000_001,
                                               "reason": "y" * 4001})
    assert r.status_code == 422 and "reason" in r.text and "record_ids" in r.text
    r = client.post("/records/withdraw", headers={"Accept-Language": "uk"}, data={
        "csrf_token": token, "contributor": "ua-hotline", "record_ids": "x" * 1_000_001})
    assert "Список ідентифікаторів записів довший" in r.text
    assert con.execute("SELECT count(*) FROM cases WHERE consent_linkage").fetchone()[0] == before


def test_the_api_withdraws_consent_as_the_page_does(client, app, demo_hub):
    """The docs say every page operation exists under /api/v1; the withdrawal was a page form
    only (a new-user trial of the hub, 2026-12-02)."""
    con = app.state.hub.hub.con
    mine = [r for (r,) in con.execute("SELECT record_id FROM cases WHERE contributor = "
                                      "'ua-hotline' ORDER BY record_id LIMIT 2").fetchall()]
    h = {"X-CSRF-Token": api_login(client, demo_hub, "uacontrib")}
    body = {"contributor": "ua-hotline", "record_ids": mine, "reason": "asked by phone"}
    assert client.post("/api/v1/records/withdraw", json=body).status_code in (401, 403)  # csrf
    r = client.post("/api/v1/records/withdraw", headers=h,
                    json={**body, "contributor": "de-police"})
    assert r.status_code == 403 and _case(con, "ua-hotline", mine[0])[1] is True
    r = client.post("/api/v1/records/withdraw", headers=h, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["contributor"] == "ua-hotline" and r.json()["pending"] == 0
    for rid in mine:
        assert _case(con, "ua-hotline", rid)[1:] == (False, False)
    # an id the hub does not hold is refused as a typo, and nothing is withdrawn
    other = con.execute("SELECT record_id FROM cases WHERE contributor = 'ua-hotline' AND "
                        "consent_linkage LIMIT 1").fetchone()[0]
    r = client.post("/api/v1/records/withdraw", headers=h,
                    json={**body, "record_ids": [other, "no-such-record"]})
    assert r.status_code in (400, 422) and _case(con, "ua-hotline", other)[1] is True
    assert client.post("/api/v1/records/withdraw", headers=h,
                       json={**body, "record_ids": []}).status_code == 422
