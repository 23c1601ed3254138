"""Working through the review queue: a contributor filter, the next open pair, and pairs another
reviewer has open (trial of a hub's data team, 2026-12-01: every decision led back to the
queue by hand, two reviewers took the same top pair, and an agency's reviewer could not see
the pairs of its own records alone)."""

from __future__ import annotations

from urllib.parse import quote

from helpers_web import api_login

from safelight.web import linkage
from safelight.web.linkage import PAIR_ID_SQL


def _queue(client, **params) -> dict:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"limit": 500, **params}.items())
    r = client.get(f"/api/v1/review?{query}")
    assert r.status_code == 200, r.text
    return r.json()


def _next(client, **params) -> dict:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    r = client.get(f"/api/v1/review/next?{query}")
    assert r.status_code == 200, r.text
    return r.json()


def test_the_queue_keeps_the_pairs_of_one_contributor(client, app, demo_hub):
    api_login(client, demo_hub, "rev")
    everything = _queue(client, status="all")
    names = {p[f"{s}_contributor"] for p in everything["pairs"] for s in ("left", "right")}
    assert len(names) >= 2
    for name in names:
        mine = _queue(client, status="all", contributor=name)
        assert mine["contributor"] == name and mine["total"] == len(mine["pairs"]) > 0
        assert all(name in (p["left_contributor"], p["right_contributor"])
                   for p in mine["pairs"])
        assert {p["pair_id"] for p in mine["pairs"]} == {
            p["pair_id"] for p in everything["pairs"]
            if name in (p["left_contributor"], p["right_contributor"])}
    assert client.get("/api/v1/review?contributor=no-such-agency").status_code == 404


def test_next_walks_the_queue_in_its_order_and_skips_decided_pairs(client, app, demo_hub):
    csrf = api_login(client, demo_hub, "rev")
    order = [p["pair_id"] for p in _queue(client)["pairs"]]
    assert len(order) >= 3
    assert _next(client)["pair_id"] == order[0]
    assert _next(client, after=order[0])["pair_id"] == order[1]
    # passed over without a decision: the walk goes on, and past the end starts again
    assert _next(client, after=order[1])["pair_id"] == order[2]
    assert _next(client, after=order[-1])["pair_id"] == order[0]
    r = client.post(f"/api/v1/review/{order[1]}/decision", headers={"X-CSRF-Token": csrf},
                    json={"decision": "non_match", "reason": "different people"})
    assert r.status_code == 200, r.text
    assert _next(client, after=order[0])["pair_id"] == order[2]
    assert _next(client, after=order[1])["pair_id"] == order[2]  # the one just decided
    got = _next(client)
    assert got["open"] == len(order) - 1 and got["in_review_by_others"] == 0


def test_a_pair_another_reviewer_has_open_is_marked_and_passed_over(client, app, demo_hub,
                                                                    monkeypatch):
    api_login(client, demo_hub, "rev")
    order = [p["pair_id"] for p in _queue(client)["pairs"]]
    # reading a pair through the API (a script) claims nothing; opening its page does
    assert client.get(f"/api/v1/review/{order[1]}").status_code == 200
    assert client.get(f"/review/{order[0]}").status_code == 200
    mine = {p["pair_id"]: p["in_review_by"] for p in _queue(client)["pairs"]}
    assert mine[order[0]] is None  # one's own claim does not hide a pair from oneself
    assert _next(client)["pair_id"] == order[0]  # the API's next claims order[0] again
    api_login(client, demo_hub, "admin")
    theirs = {p["pair_id"]: p["in_review_by"] for p in _queue(client)["pairs"]}
    assert theirs[order[0]] == "rev" and set(theirs.values()) == {"rev", None}
    got = _next(client)
    assert got["pair_id"] == order[1] and got["in_review_by_others"] == 1
    assert "rev" in client.get("/review").text
    # a claim lapses
    monkeypatch.setattr(linkage, "CLAIM_MINUTES", 0)
    assert _next(client)["pair_id"] == order[0]


def test_passing_over_a_pair_gives_it_back(client, app, demo_hub):
    """Review (2026-12-01): a pair one reviewer passed over stayed hidden from the others for
    15 minutes."""
    api_login(client, demo_hub, "rev")
    order = [p["pair_id"] for p in _queue(client)["pairs"]]
    assert client.get(f"/review/{order[0]}").status_code == 200
    r = client.get(f"/review/next?after={order[0]}", follow_redirects=False)
    assert r.headers["location"] == f"/review/{order[1]}"
    api_login(client, demo_hub, "admin")
    assert _next(client)["pair_id"] == order[0]
    assert {p["pair_id"]: p["in_review_by"] for p in _queue(client)["pairs"]}[order[0]] is None


def test_an_unknown_contributor_is_refused_and_not_written_to_the_audit(client, app, demo_hub):
    """Review (2026-12-01): the queue's audit entry kept whatever was typed as the contributor
    (a person's name and birth date, in a log that is never erased)."""
    api_login(client, demo_hub, "rev")
    typed = "Olena Petrenko 1990-01-01"
    r = client.get(f"/api/v1/review?contributor={quote(typed)}")
    assert r.status_code == 404 and "no contributor named" in r.text
    assert client.get(f"/api/v1/review/next?contributor={quote(typed)}").status_code == 404
    assert client.get(f"/review?contributor={quote(typed)}").status_code == 404
    con = app.state.hub.hub.con
    assert typed not in str(con.execute("SELECT CAST(details AS VARCHAR), object "
                                        "FROM audit_log").fetchall())


def test_the_pages_lead_from_a_decision_to_the_next_pair(client, app, demo_hub):
    api_login(client, demo_hub, "rev")
    name = _queue(client)["pairs"][0]["left_contributor"]
    order = [p["pair_id"] for p in _queue(client, contributor=name)["pairs"]]
    queue_page = client.get(f"/review?contributor={quote(name)}")
    assert f'/review/next?contributor={quote(name)}' in queue_page.text
    r = client.get(f"/review/next?contributor={quote(name)}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/review/{order[0]}?contributor={quote(name, safe='')}"
    page = client.get(r.headers["location"]).text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert f'name="contributor" value="{name}"' in page
    r = client.post(f"/review/{order[0]}", data={"csrf_token": token, "decision": "non_match",
                                                "reason": "different people",
                                                "contributor": name}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(
        f"/review/{order[0]}?saved=1&contributor=")
    saved = client.get(r.headers["location"]).text
    assert "Decision recorded." in saved
    assert f"/review/next?after={order[0]}&amp;contributor={quote(name)}" in saved
    r = client.get(f"/review/next?after={order[0]}&contributor={quote(name)}",
                   follow_redirects=False)
    if len(order) > 1:
        assert r.headers["location"].startswith(f"/review/{order[1]}")
    # the last open pair passed over: the queue says none other is left, not "none at all"
    con = app.state.hub.hub.con
    last = order[-1]
    con.execute("UPDATE link_review SET decision = 'non_match', decided_by = 'rev', "
                f"decided_at = now(), decision_note = 'test' WHERE {PAIR_ID_SQL} <> ?", [last])
    r = client.get(f"/review/next?after={last}", follow_redirects=False)
    assert r.headers["location"] == "/review?done=1"
    text = client.get(r.headers["location"]).text
    assert "No other open pair to take here." in text and "No open pair is left" not in text
    # nothing left: the queue says so
    con.execute("UPDATE link_review SET decision = 'non_match', decided_by = 'rev', "
                "decided_at = now(), decision_note = 'test'")
    r = client.get("/review/next", follow_redirects=False)
    assert r.headers["location"] == "/review?done=1"
    assert "No open pair is left to review here." in client.get(r.headers["location"]).text
