"""Caseworkers in the web application: service matching, consent and referrals, and the leaks
they must not cause (confidential locations, the person's details in URLs or the audit chain)."""

from __future__ import annotations

import json
import re

import pytest
from helpers_web import DIRECTORY_SIZE, api_login

from safelight.refer.testdata import generate_directory

SEARCH = {"needs": ["shelter", "legal_aid"], "languages": ["uk", "ru"], "near": "Kyiv", "gender": "female",
          "age": 24, "nationality": "Ukraine", "legal_status": "citizen", "with_children": True, "limit": 25}


def _case_of(app, contributor: str) -> str:
    con = app.state.hub.hub.con
    return con.execute("SELECT record_id FROM cases WHERE contributor = ? AND consent <> 'withdrawn' "
                       "ORDER BY record_id LIMIT 1", [contributor]).fetchone()[0]


def _confidential_fragments() -> set[str]:
    """Street addresses and coordinates of every confidential location of the demo directory."""
    found: set[str] = set()
    for svc in generate_directory(DIRECTORY_SIZE)["services"]:
        for sal in svc.get("service_at_locations", []):
            loc = sal["location"]
            if loc.get("safelight_confidential"):
                found.add(f"{loc['latitude']}")
                found.add(f"{loc['longitude']}")
                for a in loc.get("addresses", []):
                    found.add(a["address_1"])
                    found.add(a["postal_code"])
    return found


def _page_token(client) -> str:
    """The CSRF token of the services page (the caseworker is signed in)."""
    page = client.get("/services")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _first_service_on_page(client, token: str, need: str) -> str:
    """The first result's service id of a page search for ``need`` near Kyiv."""
    html = client.post("/services", data={"csrf_token": token, "needs": [need], "near": "Kyiv"}).text
    return re.search(r'name="service_id" value="([^"]+)"', html).group(1)


@pytest.fixture
def caseworker(client, demo_hub):
    return {"X-CSRF-Token": api_login(client, demo_hub, "uacase")}


def test_caseworker_needs_a_second_factor(client):
    from helpers_web import PASSWORD

    r = client.post("/api/v1/session", json={"username": "uacase", "password": PASSWORD})
    assert r.status_code == 401


def test_match_ranks_services_with_reasons_and_public_contact_only(client, caseworker):
    r = client.post("/api/v1/services/match", headers=caseworker, json=SEARCH)
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["near"] == "Kyiv" and found["results"]
    top = found["results"][0]
    assert "shelter" in top["needs_met"] and top["reasons"] and top["phones"]
    assert [m["rank"] for m in found["results"]] == list(range(1, len(found["results"]) + 1))
    body = r.text
    leaks = [f for f in _confidential_fragments() if f in body]
    assert not leaks, leaks[:5]


def test_no_page_or_answer_shows_a_confidential_location(client, caseworker, app):
    """Shelter searches near every city holding a confidential service, through the API and the page."""
    fragments = _confidential_fragments()
    con = app.state.hub.hub.con
    places = [r[0] for r in con.execute("SELECT DISTINCT place FROM refer_services WHERE confidential "
                                        "ORDER BY place").fetchall()]
    assert places
    confidential_shown = 0
    token = _page_token(client)
    for place in places:
        r = client.post("/api/v1/services/match", headers=caseworker,
                        json={"needs": ["shelter"], "near": place, "limit": 25})
        assert r.status_code == 200, r.text
        confidential_shown += sum(m["confidential"] for m in r.json()["results"])
        html = client.post("/services", data={"csrf_token": token, "needs": ["shelter"], "near": place}).text
        for text in (r.text, html):
            assert not [f for f in fragments if f in text], place
    assert confidential_shown >= len(places)  # the searches did reach confidential services


def test_referral_needs_recorded_consent_and_shows_in_the_case_data(client, caseworker, app):
    record = _case_of(app, "ua-hotline")
    service = client.post("/api/v1/services/match", headers=caseworker, json=SEARCH).json()["results"][0]["service_id"]
    r = client.post("/api/v1/referrals", headers=caseworker, json={"record_id": record, "service_id": service})
    assert r.status_code == 422 and "consent" in r.json()["detail"]
    r = client.post("/api/v1/referrals/consents", headers=caseworker,
                    json={"record_id": record, "service_id": service, "note": "asked in person"})
    assert r.status_code == 200 and r.json()["consent_id"] >= 1
    r = client.post("/api/v1/referrals", headers=caseworker,
                    json={"record_id": record, "service_id": service, "details": "needs a bed tonight"})
    assert r.status_code == 200, r.text
    assert r.json()["caseworker"] == "uacase" and r.json()["contributor"] == "ua-hotline"
    listed = client.get("/api/v1/referrals", headers=caseworker).json()["referrals"]
    assert [x["record_id"] for x in listed] == [record]
    con = app.state.hub.hub.con
    assert con.execute("SELECT count(*) FROM case_referrals WHERE contributor = 'ua-hotline' AND record_id = ?",
                       [record]).fetchone()[0] == 1


def test_a_caseworker_acts_for_its_own_agency_only(client, caseworker, app):
    other = _case_of(app, "pl-ngo")
    service = client.post("/api/v1/services/match", headers=caseworker, json=SEARCH).json()["results"][0]["service_id"]
    for path, body in (("/api/v1/referrals/consents", {"record_id": other, "contributor": "pl-ngo"}),
                       ("/api/v1/referrals", {"record_id": other, "service_id": service, "contributor": "pl-ngo"})):
        r = client.post(path, headers=caseworker, json=body)
        assert r.status_code == 403, (path, r.text)
    # without naming the contributor, the record is looked up in the caseworker's own agency
    r = client.post("/api/v1/referrals/consents", headers=caseworker, json={"record_id": other})
    assert r.status_code == 422 and "not in the hub" in r.json()["detail"]


@pytest.mark.parametrize("user", ["ana", "view", "rev", "uacontrib"])
def test_other_roles_cannot_search_or_refer(client, demo_hub, user):
    h = {"X-CSRF-Token": api_login(client, demo_hub, user)}
    assert client.post("/api/v1/services/match", headers=h, json=SEARCH).status_code == 403
    assert client.get("/api/v1/referrals", headers=h).status_code == 403
    assert client.get("/services", follow_redirects=False).status_code == 403


def test_the_person_stays_out_of_urls_and_the_audit_chain(client, caseworker, app):
    page = client.get("/services")
    assert 'method="post" action="/services"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/services", data={"csrf_token": token, "needs": ["shelter"], "near": "Kyiv", "age": "17",
                                       "nationality": "Moldova", "legal_status": "undocumented", "gender": "female"})
    assert r.status_code == 200 and "<ol class=\"results\">" in r.text
    con = app.state.hub.hub.con
    details = [json.loads(d) for (d,) in con.execute(
        "SELECT CAST(details AS VARCHAR) FROM audit_log WHERE action = 'web.refer_match'").fetchall()]
    assert details and all(set(d) == {"needs", "results"} for d in details)
    assert "MDA" not in json.dumps(details) and "undocumented" not in json.dumps(details)


def test_search_form_errors_name_the_field_and_keep_the_input(client, caseworker):
    token = _page_token(client)
    r = client.post("/services", data={"csrf_token": token, "needs": ["shelter"], "near": "Atlantis",
                                       "languages": "uk"})
    assert r.status_code == 422 and "near:" in r.text and 'value="Atlantis"' in r.text
    r = client.post("/services", data={"csrf_token": token, "near": "Kyiv"})
    assert r.status_code == 422 and "needs:" in r.text
    assert client.post("/services", data={"csrf_token": "forged", "needs": ["shelter"]}).status_code == 403


def test_refer_from_the_page_with_consent_recorded_now(client, caseworker, app):
    record = _case_of(app, "ua-hotline")
    token = _page_token(client)
    service = _first_service_on_page(client, token, "medical")
    form = {"csrf_token": token, "service_id": service, "record_id": record, "reason": "AdditionalServicesRequired"}
    r = client.post("/referrals", data=form, follow_redirects=False)
    assert r.status_code == 422 and "consent" in r.text
    r = client.post("/referrals", data=form | {"consent_now": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/referrals?done=")
    listing = client.get(r.headers["location"]).text
    assert record in listing and "Referral recorded" in listing
    con = app.state.hub.hub.con
    assert con.execute("SELECT recorded_by, scope FROM refer_consents WHERE record_id = ?",
                       [record]).fetchall() == [("uacase", f"referral:{service}")]


def test_a_refused_referral_records_no_consent(client, caseworker, app):
    record = _case_of(app, "ua-hotline")
    token = _page_token(client)
    service = _first_service_on_page(client, token, "legal_aid")
    r = client.post("/referrals", data={"csrf_token": token, "service_id": service, "record_id": record,
                                        "reason": "Bogus", "consent_now": "1"}, follow_redirects=False)
    assert r.status_code == 422 and "reason" in r.text
    con = app.state.hub.hub.con
    assert con.execute("SELECT count(*) FROM refer_consents WHERE record_id = ?", [record]).fetchone()[0] == 0


def test_a_refused_referral_keeps_the_search_and_what_was_typed(client, caseworker, app):
    """Without the consent box ticked the caseworker got an empty search page: the results,
    the record id and the details were gone (new-user trial, 2026-12-01)."""
    record = _case_of(app, "ua-hotline")
    token = _page_token(client)
    service = _first_service_on_page(client, token, "medical")
    r = client.post("/referrals", data={"csrf_token": token, "service_id": service,
                                        "record_id": record, "reason": "Other",
                                        "details": "needs a doctor today", "needs": "medical",
                                        "near": "Kyiv"}, follow_redirects=False)
    assert r.status_code == 422 and "consent" in r.text
    assert f'value="{service}"' in r.text and "<details open>" in r.text  # the results again
    assert f'value="{record}"' in r.text and 'value="needs a doctor today"' in r.text
    assert '<option value="Other" selected>' in r.text


def test_the_main_need_comes_first_whatever_the_order_of_the_boxes(client, caseworker, app):
    token = _page_token(client)
    page = client.post("/services", data={"csrf_token": token, "main_need": "legal_aid",
                                          "needs": ["shelter", "legal_aid"], "near": "Kyiv"})
    assert page.status_code == 200
    assert '<option value="legal_aid" selected>' in page.text
    (details,), = app.state.hub.hub.con.execute(
        "SELECT CAST(details AS VARCHAR) FROM audit_log WHERE action = 'web.refer_match' "
        "ORDER BY seq DESC LIMIT 1").fetchall()
    assert '"needs": ["legal_aid", "shelter"]' in details


def test_a_caseworker_reads_the_search_and_the_referrals_in_ukrainian(client, caseworker, app):
    """The reasons of the results, the refusals and the referrals' needs were English on the
    Ukrainian pages (new-user trial in Ukrainian)."""
    client.cookies.set("lang", "uk")
    record = _case_of(app, "ua-hotline")
    token = _page_token(client)
    page = client.post("/services", data={"csrf_token": token, "main_need": "shelter",
                                          "needs": ["child_care"], "near": "Kyiv"}).text
    assert "задовольняє головну потребу: притулок" in page and " км" in page
    assert "Служби поблизу Kyiv:" in page
    typed = client.post("/services", data={"csrf_token": token, "main_need": "shelter",
                                           "needs": ["child_care"], "near": "Київ"}).text
    assert "Служби поблизу Kyiv:" in typed  # the place typed in Ukrainian is found
    typo = client.post("/services", data={"csrf_token": token, "main_need": "shelter",
                                          "near": "Кьоїв"}).text
    assert "поблизу: Кьоїв: такого місця немає в довіднику місць" in typo
    assert "gazetteer" not in typo and "--near" not in typo
    assert "meets the primary need" not in page and " km" not in page
    service = re.search(r'name="service_id" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "service_id": service, "record_id": record, "needs": "shelter"}
    refused = client.post("/referrals", data=form).text
    assert f"справа ua-hotline/{record}: немає записаної згоди на скерування" in refused
    listing = client.post("/referrals", data=form | {"consent_now": "1"}, follow_redirects=True).text
    assert "Притулок" in listing and "shelter" not in listing
