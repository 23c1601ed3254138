"""Translations of the web pages: English (the source strings) and Ukrainian.

Catalogues are JSON files in ``safelight/web/locales/<lang>.json`` mapping an English string to
its translation; a string missing from a catalogue falls back to English (tests check that the
shipped catalogue covers every string the templates and code use). Sentences the stages word
for the pages (a match's reasons, a release withheld) come as :class:`~safelight.messages.Message`
and are translated through their template. The language comes from the ``lang`` cookie (the
switch in the page header) or else from ``Accept-Language``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from safelight.messages import Message

DEFAULT = "en"
LANGUAGES = {"en": "English", "uk": "Українська"}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of ``lang`` (empty for English)."""
    if lang == DEFAULT:
        return {}
    res = resources.files("safelight.web").joinpath(f"locales/{lang}.json")
    return json.loads(res.read_text("utf-8")) if res.is_file() else {}


def negotiate(cookie: str | None, accept_language: str | None,
              available: tuple[str, ...] = tuple(LANGUAGES)) -> str:
    """Pick a language: the cookie if valid, else the best ``Accept-Language`` match."""
    if cookie in available:
        return cookie
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "").split(","):
        m = re.match(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q=([0-9.]+))?", part)
        if not m:
            continue
        code = m.group(1).lower()
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        if code in available and q > best_q:
            best, best_q = code, q
    return best


def translator(lang: str) -> Callable[..., str]:
    """``_(text, **values)``: the translation of ``text`` with ``{name}`` fields filled; of a
    :class:`~safelight.messages.Message`, its template's translation filled with its values."""
    cat = catalogue(lang)

    def _(text: str, /, **values: object) -> str:
        if isinstance(text, Message):
            return text.say(_)
        out = cat.get(text) or text
        return out.format(**values) if values else out

    return _
