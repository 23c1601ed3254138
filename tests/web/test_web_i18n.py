"""Every string the pages translate has a Ukrainian translation; language negotiation."""

from __future__ import annotations

import re
from importlib import resources

from safelight.web.i18n import catalogue, negotiate, translator
from safelight.web.render import NAV


def _template_strings() -> set[str]:
    root = resources.files("safelight.web").joinpath("templates")
    found: set[str] = set()
    for t in root.iterdir():
        if t.name.endswith(".html"):
            text = t.read_text("utf-8")
            found |= set(re.findall(r'_\(\s*"([^"]+)"', text))
            found |= set(re.findall(r"_\(\s*'([^']+)'", text))
    return found


def test_ukrainian_catalogue_covers_every_template_string_and_label():
    uk = catalogue("uk")
    wanted = _template_strings() | {label for _, _, label in NAV} | {
        "admin", "contributor", "analyst", "reviewer", "viewer", "caseworker", "match", "non_match",
        "aggregates", "synthetic", "Open", "Decided", "All", "suppressed"}
    assert len(wanted) > 100
    missing = sorted(s for s in wanted if not uk.get(s))
    assert not missing, missing


def test_negotiation():
    assert negotiate(None, "uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert negotiate(None, "de,en;q=0.5") == "en"
    assert negotiate(None, "fr") == "en"
    assert negotiate("uk", "en") == "uk"
    assert negotiate("xx", "en;q=0.2,uk;q=0.9") == "uk"
    assert translator("uk")("Sign in") == "Увійти"
    assert translator("en")("Sign in") == "Sign in"
