"""Nothing public ever shows a confidential location; the help finder page keeps its promises."""

from __future__ import annotations

import json
import re

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.refer import directory, finder
from safelight.refer.api import help_finder_router
from safelight.refer.testdata import HOUSE_STREETS


def _secrets(doc):
    """(service id, address line, (lat, lon)) of every confidential location of the generated input."""
    out = []
    for s in doc["services"]:
        for sal in s["service_at_locations"]:
            loc = sal["location"]
            if loc.get("safelight_confidential"):
                out.append((s["id"], loc["addresses"][0]["address_1"], (loc["latitude"], loc["longitude"])))
    return out


def _positions(obj, found):
    """Every (lat, lon) pair of a JSON document: HSDS locations and finder cards (y, x)."""
    if isinstance(obj, dict):
        for a, b in (("latitude", "longitude"), ("y", "x")):
            if isinstance(obj.get(a), int | float) and isinstance(obj.get(b), int | float):
                found.append((float(obj[a]), float(obj[b])))
        for v in obj.values():
            _positions(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _positions(v, found)
    return found


def _assert_clean(name, text, secrets):
    numbers = set(re.findall(r"-?\d+\.\d+", text))
    words = set(re.findall(r"\d+ [A-Z][a-z]+ [A-Z][a-z]+", text))
    for sid, street, (lat, lon) in secrets:
        assert street not in words, f"{name}: address of confidential service {sid} leaked"
        assert not (repr(lat) in numbers and repr(lon) in numbers), f"{name}: coordinates of {sid} leaked"
    house = re.compile(r"\b(" + "|".join(HOUSE_STREETS) + r") (Close|Gardens|Terrace|Mews)\b")
    assert not house.search(text), f"{name}: a confidential street name appears"
    try:
        doc = json.loads(text)
    except ValueError:
        return
    spots = np.array(_positions(doc, []), dtype=float).reshape(-1, 2)
    houses = np.array([pos for _sid, _street, pos in secrets], dtype=float)
    if len(spots):
        close = (np.abs(spots[:, None, :] - houses[None, :, :]) < 1e-4).all(axis=2)
        assert not close.any(), f"{name}: the position of confidential service {secrets[int(np.argwhere(close)[0][1])][0]} is public"
    cards = [c for v in (doc.values() if isinstance(doc, dict) else [doc]) if isinstance(v, list)
             for c in v if isinstance(c, dict) and "i" in c]
    real = {sid: pos for sid, _street, pos in secrets}
    for c in cards:  # a confidential service's card sits at its front door, not near the house
        if c["i"] in real and c.get("y") is not None:
            lat, lon = real[c["i"]]
            assert abs(c["y"] - lat) > 0.01 or abs(c["x"] - lon) > 0.01, f"{name}: card of {c['i']} near its house"


def test_every_public_page_and_endpoint_hides_every_confidential_location(demo_dir, tmp_path):
    hub, _key, doc, _ = demo_dir
    secrets = _secrets(doc)
    assert len(secrets) > 200  # the demo directory has hundreds of confidential shelters
    app = FastAPI()
    bundle = lambda: finder.render_bundle(finder.docs_by_country(hub))  # noqa: E731 - the hub is open here
    app.include_router(help_finder_router(bundle=bundle), prefix="/help")
    client = TestClient(app)
    countries = sorted({r for (r,) in hub.con.execute("SELECT DISTINCT country FROM refer_services").fetchall()})
    urls = ["/help/", "/help/index.html", "/help/sw.js", "/help/hotlines.json", "/help/services.json"]
    urls += [f"/help/data/{c}.json" for c in countries] + [f"/help/services.json?country={c}" for c in countries]
    seen_ids: set[str] = set()
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        assert "set-cookie" not in r.headers, url
        assert r.headers["referrer-policy"] == "no-referrer"
        _assert_clean(url, r.text, secrets)
        if url.endswith(".json") or "services.json" in url:
            seen_ids |= {c["i"] for c in json.loads(r.text)} if r.text.startswith("[") and "data/" in url else set()
    all_ids = {r for (r,) in hub.con.execute("SELECT service_id FROM refer_services WHERE status = 'active'").fetchall()}
    assert seen_ids == all_ids  # every service was served, and none of them leaked
    # the exports and the static bundle are public too
    directory.export_directory(hub, tmp_path / "json", fmt="json")
    directory.export_directory(hub, tmp_path / "csv", fmt="csv")
    finder.build_help_finder(hub, tmp_path / "site")
    for path in [*tmp_path.rglob("*.json"), *tmp_path.rglob("*.csv"), *tmp_path.rglob("*.html"), *tmp_path.rglob("*.js")]:
        _assert_clean(str(path), path.read_text(encoding="utf-8"), secrets)
    # the operator's export holds the locations, but only sealed
    directory.export_directory(hub, tmp_path / "sealed", fmt="json", include_sealed=True)
    sealed = (tmp_path / "sealed" / "services.json").read_text()
    assert "safelight_sealed" in sealed
    _assert_clean("operator export", sealed, secrets)


def test_finder_page_is_small_self_contained_and_private(small_dir):
    hub, *_ = small_dir
    files = finder.render_bundle(finder.docs_by_country(hub))
    page = files["index.html"].decode()
    assert len(files["index.html"]) < 100_000
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)  # nothing loaded from elsewhere
    for word in ("cookie", "localStorage", "sessionStorage", "indexedDB", "analytics", "gtag", "XMLHttpRequest"):
        assert word not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert csp == finder.content_security_policy(files["index.html"])  # the hash matches the script
    data = json.loads(re.search(r"var D = (\{.*?\});\n", page).group(1))
    assert set(data["i18n"]) == {"en", "uk", "ru", "ar", "es", "ro"}
    assert data["i18n"]["ar"]["dir"] == "rtl"
    keys = set(data["i18n"]["en"])
    assert all(set(t) == keys and set(t["needs"]) == set(data["i18n"]["en"]["needs"]) for t in data["i18n"].values())
    assert all(h["source_url"].startswith("http") and h["retrieved"] for h in data["hotlines"])
    # without JavaScript the page still gives every national hotline as a number to call (a
    # new-user trial found it blank but for its title)
    noscript = page[page.index("<noscript>"):page.index("</noscript>")]
    assert all(f'href="tel:{h["dial"]}"' in noscript for h in data["hotlines"])


def test_hotlines_are_cited_and_marked_for_verification():
    text = (finder.resources.files("safelight.refer") / "data" / "hotlines.csv").read_text(encoding="utf-8")
    assert "VERIFY BEFORE DEPLOYMENT" in text
    rows = finder.load_hotlines()
    assert len(rows) >= 5
    for r in rows:
        assert r["source_url"].startswith(("http://", "https://")) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["retrieved"])
        assert r["dial"].lstrip("+").isdigit()
