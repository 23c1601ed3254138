"""The public help finder: a static, self-contained page built from public data only.

Contract
--------
:func:`front_door_card` turns a *public* HSDS service document into the small card the page
shows (name, organisation, needs, languages, phones, the front door or site, city, public
position, hours, eligibility text); it reads nothing else, so no sealed location can reach it.
:func:`render_bundle` returns the files of the finder: ``index.html`` (inline CSS and script,
a Content-Security-Policy that allows only same-origin requests, no cookies, storage or analytics,
a quick-exit button and Esc key, six languages with Arabic right-to-left, under 100 KB),
``sw.js`` (a service worker that keeps what was loaded for offline use), ``hotlines.json`` and
one ``data/<ISO3>.json`` of cards per country. :func:`build_help_finder` writes them to a folder
with ``build.json`` (software version, time, counts, SHA-256 of every file).
The hotlines come from ``data/hotlines.csv``: each row cites the page it was read on.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from safelight import __version__
from safelight.errors import SafelightError
from safelight.refer.hsds import is_confidential
from safelight.refer.places import load_places
from safelight.standard import geography
from safelight.store.hub import Hub, now_utc

log = logging.getLogger("safelight.refer")

LANGUAGES = ("en", "uk", "ru", "ar", "es", "ro")
PAGE_LIMIT_BYTES = 100_000
DEFAULT_EXIT_URL = "https://www.wikipedia.org/"
_DAY_ORDER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _text(name: str) -> str:
    return resources.files("safelight.refer").joinpath(name).read_text(encoding="utf-8")


@cache
def load_hotlines() -> tuple[dict[str, str], ...]:
    """The cited national hotlines (see ``data/hotlines.csv``); a row without a source is an error."""
    lines = [ln for ln in _text("data/hotlines.csv").splitlines() if ln and not ln.startswith("#")]
    rows = []
    for r in csv.DictReader(io.StringIO("\n".join(lines))):
        if not (r["source_url"].startswith(("http://", "https://")) and r["retrieved"] and r["number"]):
            raise SafelightError(f"hotlines.csv: the row for {r['country']} lacks a number, source URL or "
                                 "retrieved date — every hotline must be cited")
        rows.append({k: (v or "") for k, v in r.items()})
    return tuple(rows)


def _hours(schedules: list[dict[str, Any]]) -> str | None:
    parts = []
    for s in schedules:
        days = [d.strip()[-2:] for d in str(s.get("byday") or "").split(",") if d.strip()]
        opens, closes = str(s.get("opens_at") or "")[:5], str(s.get("closes_at") or "")[:5]
        if len(days) == 7 and opens == "00:00" and closes in ("23:59", "24:00", "00:00"):
            return "24/7"
        if days and opens:
            span = days[0] if len(days) == 1 else f"{days[0]}–{days[-1]}"
            parts.append(f"{span} {opens}–{closes}")
    return "; ".join(parts) or None


def front_door_card(doc: dict[str, Any]) -> dict[str, Any]:
    """The finder's card of one public service document (see the module contract)."""
    needs = [a["taxonomy_term"]["code"] for a in doc.get("attributes", [])
             if (a.get("taxonomy_term") or {}).get("taxonomy") == "safelight-need"]
    locs = [sal["location"] for sal in doc.get("service_at_locations", [])
            if isinstance(sal.get("location"), dict) and not is_confidential(sal["location"])]
    locs.sort(key=lambda loc: not loc.get("safelight_front_door"))
    loc = locs[0] if locs else {}
    addr = (loc.get("addresses") or [{}])[0]
    door = bool(loc.get("safelight_front_door"))
    where = loc.get("name") if door else ", ".join(x for x in (addr.get("address_1"), addr.get("city")) if x)
    phones = [[p["number"], "".join(ch for ch in p["number"] if ch.isdigit() or ch == "+")]
              for p in doc.get("phones", []) + loc.get("phones", []) if p.get("number")]
    schedules = list(doc.get("schedules", []))
    for sal in doc.get("service_at_locations", []):
        schedules += sal.get("schedules", [])
    return {
        "i": doc["id"], "n": doc.get("name"), "o": (doc.get("organization") or {}).get("name", ""),
        "d": needs, "l": [x["code"] for x in doc.get("languages", []) if x.get("code")], "p": phones,
        "a": where or None, "c": addr.get("city"), "y": loc.get("latitude"), "x": loc.get("longitude"),
        "h": _hours(schedules), "k": 1 if door else 0, "e": doc.get("eligibility_description"),
    }


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return ("default-src 'none'; script-src 'sha256-" + digest + "'; style-src 'unsafe-inline'; "
            "connect-src 'self'; worker-src 'self'; img-src 'self' data:; manifest-src 'self'; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


def content_security_policy(index_html: bytes) -> str:
    """The CSP a server should also send as a header with ``index_html`` (same as its meta tag)."""
    text = index_html.decode("utf-8")
    start = text.index("<script>") + len("<script>")
    return _csp(text[start:text.index("</script>", start)])


def _noscript(hotlines: list[dict[str, Any]]) -> str:
    """The page without JavaScript (blocked, or an old phone): every verified national hotline,
    by country, as a number to call — it showed only its title and a dead Quick exit button."""
    from html import escape

    rows = "".join(
        f'<li>{escape(geography.country(h["country"]).name)}: {escape(h["name"])} '
        f'<a class="tel" href="tel:{escape(h["dial"])}">{escape(h["number"])}</a>'
        f'{" (" + escape(h["hours"]) + ")" if h.get("hours") else ""}</li>'
        for h in sorted(hotlines, key=lambda h: geography.country(h["country"]).name))
    return ("<noscript><p>Free, confidential help for people who were exploited or "
            "trafficked. National hotlines (close this tab to leave):</p>"
            f"<ul>{rows}</ul></noscript>")


def render_bundle(docs_by_country: dict[str, list[dict[str, Any]]], *, exit_url: str = DEFAULT_EXIT_URL,
                  max_km: float = 100.0, max_results: int = 40) -> dict[str, bytes]:
    """Files of the finder (path → bytes) for the public documents of each country."""
    if not exit_url.startswith(("https://", "http://", "about:")):
        raise SafelightError(f"exit URL {exit_url!r} must be an http(s) address")
    hotlines = list(load_hotlines())
    cards = {c: [front_door_card(d) for d in docs] for c, docs in docs_by_country.items() if docs}
    places: dict[str, list] = {}
    for p in load_places():
        places.setdefault(p.country, []).append([p.name, p.latitude, p.longitude])
    countries = sorted(set(cards) | {h["country"] for h in hotlines})
    a2 = {c: geography.country(c).alpha2 for c in countries}
    data = {"i18n": json.loads(_text("templates/i18n.json")), "hotlines": hotlines, "exit_url": exit_url,
            "countries": countries, "a2": a2, "places": {c: places.get(c, []) for c in countries},
            "service_countries": sorted(cards), "max_km": max_km, "max_results": max_results}
    script = _text("templates/page.js").replace(
        "__DATA__", json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"))
    page = (_text("templates/page.html").replace("__CSP__", _csp(script))
            .replace("__NOSCRIPT__", _noscript(hotlines)).replace("__SCRIPT__", script))
    files = {"index.html": page.encode("utf-8"),
             "sw.js": _text("templates/sw.js").replace("__VERSION__", __version__ + "-" + hashlib.sha256(
                 page.encode()).hexdigest()[:8]).encode("utf-8"),
             "hotlines.json": json.dumps(hotlines, ensure_ascii=False, indent=1).encode("utf-8")}
    for c, lst in cards.items():
        files[f"data/{c}.json"] = json.dumps(lst, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(files["index.html"]) > PAGE_LIMIT_BYTES:
        raise SafelightError(f"the help finder page is {len(files['index.html'])} bytes, over the "
                             f"{PAGE_LIMIT_BYTES} byte budget — trim translations or places")
    return files


def docs_by_country(hub: Hub) -> dict[str, list[dict[str, Any]]]:
    """Public documents of the hub's active services, grouped by country."""
    out: dict[str, list[dict[str, Any]]] = {}
    for country, doc in hub.con.execute(
            "SELECT country, CAST(public_doc AS VARCHAR) FROM refer_services WHERE status = 'active' "
            "AND country IS NOT NULL ORDER BY country, name, service_id").fetchall():
        out.setdefault(country, []).append(json.loads(doc))
    return out


def build_help_finder(hub: Hub, out: str | Path, *, exit_url: str = DEFAULT_EXIT_URL) -> dict[str, int]:
    """Write the help finder for the hub's directory into ``out``; returns bytes per file."""
    out = Path(out)
    docs = docs_by_country(hub)
    files = render_bundle(docs, exit_url=exit_url)
    files["build.json"] = json.dumps({
        "software_version": __version__, "built_at": now_utc().isoformat(timespec="seconds"),
        "services": sum(len(v) for v in docs.values()), "countries": sorted(docs), "exit_url": exit_url,
        "hotlines_sha256": hashlib.sha256(_text("data/hotlines.csv").encode()).hexdigest(),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
    }, indent=1).encode()
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    log.info("help finder written to %s (%d files, page %d bytes)", out, len(files), len(files["index.html"]))
    return {name: len(content) for name, content in files.items()}
