"""The review queue shows, serves and accepts decisions on a pair only while neither record's
case forbids linkage now (a later export may set consent to none before any link run)."""

from __future__ import annotations

import re

from helpers_web import api_login

from safelight.web.linkage import PAIR_ID_SQL


def test_a_pair_whose_record_lost_linkage_consent_leaves_the_queue(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "rev")
    q = client.get("/api/v1/review?status=all&limit=500").json()
    pair = q["pairs"][0]
    pid, total = pair["pair_id"], q["total"]
    assert client.get(f"/api/v1/review/{pid}").status_code == 200
    con = app.state.hub.hub.con
    con.execute("UPDATE cases SET consent = 'none', consent_linkage = false "
                "WHERE contributor = ? AND record_id = ?",
                [pair["left_contributor"], pair["left_record_id"]])
    after = client.get("/api/v1/review?status=all&limit=500").json()
    assert pid not in [p["pair_id"] for p in after["pairs"]]
    assert after["total"] < total
    assert client.get(f"/api/v1/review/{pid}").status_code == 404
    r = client.post(f"/api/v1/review/{pid}/decision", headers={"X-CSRF-Token": csrf},
                    json={"decision": "match", "reason": "same person"})
    assert r.status_code == 404
    assert con.execute("SELECT count(*) FROM link_review WHERE decision IS NOT NULL").fetchone()[0] == 0


def test_a_decision_that_contradicts_earlier_ones_is_refused_with_the_chain(client, app,
                                                                             demo_hub):
    """Trial finding (2026-12-01): A–B match, A–C non-match, D–C match, then D–B match were
    all stored; persons kept some of them at decision time and others at the next run, and
    the reviewer was never told. The decision that closes the contradiction is refused,
    naming the decisions it contradicts, and nothing of it is stored."""
    con = app.state.hub.hub.con
    rec = {x: ("zz-test", x) for x in "ABCD"}
    for x, y in ("AB", "AC", "DC", "DB"):
        con.execute("INSERT INTO link_review (run_id, left_contributor, left_record_id, "
                    "right_contributor, right_record_id, match_probability, match_weight, "
                    "linked, reasons) VALUES ('zz-run', ?, ?, ?, ?, 0.5, 0, false, '{}')",
                    [*rec[x], *rec[y]])
    pid = {f"{lr}{rr}": p for lr, rr, p in con.execute(
        f"SELECT left_record_id, right_record_id, {PAIR_ID_SQL} "
        "FROM link_review WHERE run_id = 'zz-run'").fetchall()}
    csrf = api_login(client, demo_hub, "rev")

    def decide(pair: str, decision: str):
        return client.post(f"/api/v1/review/{pid[pair]}/decision",
                           headers={"X-CSRF-Token": csrf},
                           json={"decision": decision, "reason": "trial"})

    assert decide("AB", "match").status_code == 200
    assert decide("AC", "non_match").status_code == 200
    assert decide("DC", "match").status_code == 200
    r = decide("DB", "match")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "zz-test/A and zz-test/C are decided a non-match" in detail
    assert "zz-test/A–zz-test/B" in detail and "zz-test/C–zz-test/D" in detail
    assert con.execute("SELECT decision FROM link_review WHERE run_id = 'zz-run' AND "
                       "left_record_id = 'D' AND right_record_id = 'B'").fetchone()[0] is None
    # the reviewer may change the non-match instead, and then decide D–B
    assert decide("AC", "match").status_code == 200
    assert decide("DB", "match").status_code == 200
    # and a non-match inside a chain of matches is refused the same way
    assert decide("AB", "non_match").status_code == 422


def test_an_old_contradiction_does_not_block_decisions_on_other_pairs(client, app, demo_hub):
    """Review (2026-12-01): a hub holding contradictory decisions from before the check (they
    were accepted then) refused every later decision, naming other records."""
    con = app.state.hub.hub.con
    rec = {x: ("zz-old", x) for x in "ABCDE"}
    for x, y, decision in (("A", "B", "match"), ("B", "C", "match"), ("A", "C", "non_match"),
                           ("D", "E", None)):
        con.execute("INSERT INTO link_review (run_id, left_contributor, left_record_id, "
                    "right_contributor, right_record_id, match_probability, match_weight, "
                    "linked, reasons, decision, decided_by, decided_at) VALUES ('zz-old-run', "
                    "?, ?, ?, ?, 0.5, 0, false, '{}', ?, 'earlier', now())",
                    [*rec[x], *rec[y], decision])
    pid = con.execute(f"SELECT {PAIR_ID_SQL} FROM link_review "
                      "WHERE run_id = 'zz-old-run' AND left_record_id = 'D'").fetchone()[0]
    csrf = api_login(client, demo_hub, "rev")
    r = client.post(f"/api/v1/review/{pid}/decision", headers={"X-CSRF-Token": csrf},
                    json={"decision": "match", "reason": "same person"})
    assert r.status_code == 200, r.text


def test_a_different_decision_by_another_reviewer_must_overrule(client, app, demo_hub):
    """Two reviewers who disagreed: the last one won without a word and the first one's
    reason was lost (new-user trial, 2026-12-01)."""
    import json

    csrf = api_login(client, demo_hub, "rev")
    pid = client.get("/api/v1/review?limit=1").json()["pairs"][0]["pair_id"]
    url = f"/api/v1/review/{pid}/decision"
    assert client.post(url, headers={"X-CSRF-Token": csrf},
                       json={"decision": "non_match", "reason": "other mother"}).status_code == 200
    # the same reviewer may change their own decision
    assert client.post(url, headers={"X-CSRF-Token": csrf},
                       json={"decision": "match", "reason": "checked again"}).status_code == 200
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    csrf = api_login(client, demo_hub, "admin")
    r = client.post(url, headers={"X-CSRF-Token": csrf},
                    json={"decision": "non_match", "reason": "I disagree"})
    assert r.status_code in (400, 409, 422) and "rev decided this pair match" in r.text
    assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC", r.text)  # not a bare local-looking time
    con = app.state.hub.hub.con
    assert con.execute("SELECT decided_by FROM link_review WHERE decision IS NOT NULL"
                       ).fetchall() == [("rev",)]
    r = client.post(url, headers={"X-CSRF-Token": csrf},
                    json={"decision": "non_match", "reason": "I disagree", "overrule": True})
    assert r.status_code == 200, r.text
    details = con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log WHERE action = "
                          "'link.decision' ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert json.loads(details)["previous_decided_by"] == "rev"
    note = client.get(f"/api/v1/review/{pid}").json()["decision_note"]
    assert note.startswith("I disagree") and "earlier: match by rev" in note
    assert "checked again" in note  # the first reviewer's reason is not lost
    assert re.search(r"earlier: match by rev \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", note)
    page = client.get(f"/review/{pid}").text
    assert re.search(r"by admin \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", page)


def test_a_reason_is_shown_to_its_author_only_where_identifiers_are_hidden(demo_hub, tmp_path):
    """A reason may name the person: on a hub that hides identifiers, other reviewers saw it."""
    from fastapi.testclient import TestClient
    from helpers_web import settings_for

    from safelight.web import create_app

    application = create_app(demo_hub.copy(tmp_path), settings_for(demo_hub,
                                                                   show_identifiers=False))
    try:
        with TestClient(application) as c:
            csrf = api_login(c, demo_hub, "rev")
            pid = c.get("/api/v1/review?limit=1").json()["pairs"][0]["pair_id"]
            note = "spoke to Ioana Popa, DOB 1995"
            assert c.post(f"/api/v1/review/{pid}/decision", headers={"X-CSRF-Token": csrf},
                          json={"decision": "match", "reason": note}).status_code == 200
            mine = c.get(f"/api/v1/review/{pid}").json()
            assert mine["decision_note"] == note and not mine["decision_note_hidden"]
            c.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
            api_login(c, demo_hub, "admin")
            theirs = c.get(f"/api/v1/review/{pid}").json()
            assert theirs["decision_note"] is None and theirs["decision_note_hidden"]
            assert "Ioana" not in c.get(f"/review/{pid}").text
    finally:
        application.state.hub.close()


def test_a_pair_still_queued_after_a_run_keeps_its_id(client, app, demo_hub):
    """Every run gave every open pair a new id: its page and a decision sent while the run
    went were lost (404)."""
    csrf = api_login(client, demo_hub, "admin")
    before = {p["pair_id"] for p in client.get("/api/v1/review?limit=500").json()["pairs"]}
    assert client.post("/api/v1/linkage/run", headers={"X-CSRF-Token": csrf}).status_code == 200
    after = {p["pair_id"] for p in client.get("/api/v1/review?limit=500").json()["pairs"]}
    assert before and before == after


def test_a_decision_can_be_taken_back(client, app, demo_hub):
    """There was no undo: a mis-clicked match could only be flipped to a non-match."""
    csrf = api_login(client, demo_hub, "rev")
    pair = next(p for p in client.get("/api/v1/review?limit=500").json()["pairs"]
                if not p["linked"])
    pid, url = pair["pair_id"], f"/api/v1/review/{pair['pair_id']}/decision"
    con = app.state.hub.hub.con

    def person(side):
        return con.execute("SELECT person_id FROM persons WHERE contributor = ? AND "
                           "record_id = ?", [pair[f"{side}_contributor"],
                                             pair[f"{side}_record_id"]]).fetchone()[0]

    apart = (person("left"), person("right"))
    assert apart[0] != apart[1]
    r = client.post(url, headers={"X-CSRF-Token": csrf},
                    json={"decision": "undecided", "reason": "nothing to undo"})
    assert r.status_code in (400, 422) and "no decision to take back" in r.text
    assert client.post(url, headers={"X-CSRF-Token": csrf},
                       json={"decision": "match", "reason": "mis-click"}).status_code == 200
    assert person("left") == person("right")  # the match joined their persons
    r = client.post(url, headers={"X-CSRF-Token": csrf},
                    json={"decision": "undecided", "reason": "clicked the wrong one"})
    assert r.status_code == 200, r.text
    assert person("left") != person("right")  # only the decision held them together
    row = con.execute("SELECT decision, decided_by, decision_note FROM link_review WHERE "
                      f"{PAIR_ID_SQL} = ?", [pid]).fetchone()
    assert row == (None, None, None)
    assert pid in {p["pair_id"] for p in client.get("/api/v1/review?status=open&limit=500")
                   .json()["pairs"]}


def test_the_pair_page_lists_every_decision_taken_on_it(client, app, demo_hub):
    """Who decided what and when, each change and what it replaced (the audit log's record;
    reasons stay out of it — only the current reason is kept, with the decision)."""
    csrf = api_login(client, demo_hub, "rev")
    pid = client.get("/api/v1/review?limit=1").json()["pairs"][0]["pair_id"]
    url = f"/api/v1/review/{pid}/decision"
    for decision, reason in (("non_match", "other mother"), ("match", "checked again"),
                             ("undecided", "clicked the wrong one"), ("match", "sure now")):
        r = client.post(url, headers={"X-CSRF-Token": csrf},
                        json={"decision": decision, "reason": reason})
        assert r.status_code == 200, r.text
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    csrf = api_login(client, demo_hub, "admin")
    assert client.post(url, headers={"X-CSRF-Token": csrf}, json={
        "decision": "non_match", "reason": "I disagree", "overrule": True}).status_code == 200
    history = client.get(f"/api/v1/review/{pid}").json()["history"]
    assert [(h["by"], h["decision"], h["previous"]) for h in history] == [
        ("rev", "non_match", None), ("rev", "match", "non_match"),
        ("rev", "undecided", "match"), ("rev", "match", None), ("admin", "non_match", "match")]
    page = client.get(f"/review/{pid}").text
    table = page[page.index("Decisions on this pair"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 6  # a header and five decisions
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", table)) == 5
    assert "other mother" not in table and "wrong one" not in table


def test_a_pair_queued_again_by_a_new_run_starts_a_new_history(client, app, demo_hub):
    """The history is of the queue entry: a decided pair keeps its row, and its history,
    across runs; an open one is queued afresh by each run (its old decisions taken back), and a
    pair whose row a consent withdrawal deleted must not come back with its old decisions."""
    csrf = api_login(client, demo_hub, "rev")
    pairs = client.get("/api/v1/review?limit=2").json()["pairs"]
    kept, reopened = pairs[0]["pair_id"], pairs[1]["pair_id"]
    h = {"X-CSRF-Token": csrf}
    assert client.post(f"/api/v1/review/{kept}/decision", headers=h,
                       json={"decision": "match", "reason": "same"}).status_code == 200
    for decision in ("non_match", "undecided"):
        assert client.post(f"/api/v1/review/{reopened}/decision", headers=h,
                           json={"decision": decision, "reason": "r"}).status_code == 200
    assert len(client.get(f"/api/v1/review/{reopened}").json()["history"]) == 2
    client.delete("/api/v1/session", headers=h)
    csrf = api_login(client, demo_hub, "admin")
    assert client.post("/api/v1/linkage/run", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert [x["decision"] for x in client.get(f"/api/v1/review/{kept}").json()["history"]] == [
        "match"]
    r = client.get(f"/api/v1/review/{reopened}")
    assert r.status_code == 200  # still uncertain: queued again, without the old decisions
    assert r.json()["history"] == [] and r.json()["decision"] is None
