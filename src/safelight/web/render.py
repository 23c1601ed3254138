"""Rendering pages: one Jinja2 environment (autoescaped) with the translator of the request."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from safelight import __version__
from safelight.web.auth import User
from safelight.web.deps import allowed_actions
from safelight.web.i18n import LANGUAGES, negotiate, translator
from safelight.web.services import utc_minute

NAV = (  # (action that must be allowed, path, label)
    ("dashboard", "/dashboard", "Dashboard"),
    ("contributions", "/contributions", "Contributions"),
    ("records", "/records", "Records"),
    ("review", "/review", "Review queue"),
    ("persons", "/persons", "Persons"),
    ("releases", "/releases", "Releases"),
    ("services", "/services", "Services"),
    ("refer", "/referrals", "Referrals"),
    ("users", "/users", "Users"),
)


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("safelight.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals["version"] = __version__
    env.globals["LANGUAGES"] = LANGUAGES
    env.filters["utc"] = utc_minute
    return env


def new_token() -> str:
    return secrets.token_urlsafe(24)


def language(request: Request) -> str:
    settings = request.app.state.hub.settings
    return negotiate(request.cookies.get("lang"), request.headers.get("accept-language"),
                     settings.languages)


def fragment(template: str, lang: str, **context: Any) -> Markup:
    """A part of a page that does not depend on the user (cacheable), in ``lang``."""
    return Markup(environment().get_template(template).render(lang=lang, _=translator(lang),
                                                              **context))


def render(request: Request, template: str, user: User | None, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    lang = language(request)
    allowed = allowed_actions(user)
    nav = [(path, label) for action, path, label in NAV if action in allowed]
    html = environment().get_template(template).render(
        request=request, user=user, lang=lang, _=translator(lang), nav=nav, can=allowed,
        path=request.url.path, csrf=user.csrf_token if user else "", **context)
    return HTMLResponse(html, status_code=status,
                        headers={"Content-Language": lang, "Cache-Control": "no-store"})
