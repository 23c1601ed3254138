"""The FastAPI application: :func:`create_app` over one hub, :func:`run` under uvicorn.

Contract: one process holds the hub (DuckDB allows one writer) and serialises every use of it
(:class:`~safelight.web.state.HubState`); every response carries security headers (a strict
Content-Security-Policy: no script, no external origin; no framing; no referrer); errors become
a JSON body under ``/api`` and a page elsewhere, never a traceback.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from safelight import __version__
from safelight.errors import SafelightError
from safelight.messages import message_of
from safelight.refer import finder
from safelight.refer.api import help_finder_router
from safelight.web import api, pages, services
from safelight.web.auth import AuthError, LoginLimiter
from safelight.web.dashboard import Dashboard
from safelight.web.deps import LoginRequired, PageForbidden
from safelight.web.render import render
from safelight.web.settings import WebSettings
from safelight.web.state import HubState

log = logging.getLogger("safelight.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'none'; object-src 'none'; "
                                "img-src 'self' data:; style-src 'self'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Pure ASGI middleware: adds :data:`SECURITY_HEADERS` (and HSTS) to every response that
    does not set them itself, and ``Cache-Control: no-store`` to every one but the stylesheet's
    (``/static``): API answers, exports and downloads carry record-level data and identifiers,
    which no browser or proxy cache may keep."""

    def __init__(self, app, hsts: bool) -> None:
        self.app = app
        extra = {"Strict-Transport-Security": "max-age=31536000"} if hsts else {}
        self.headers = [(k.lower().encode(), v.encode())
                        for k, v in {**SECURITY_HEADERS, **extra}.items()]
        self.uncached = [*self.headers, (b"cache-control", b"no-store")]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"] == "/static" or scope["path"].startswith("/static/")
        headers = self.headers if static else self.uncached

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in headers if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UploadLimit:
    """Pure ASGI middleware: refuses a request body over ``max_upload_mb`` while it streams in
    (Starlette's :class:`RequestBodyLimitMiddleware`, before anything is spooled), and answers
    with the limit and what to do — JSON ``{"detail": ...}`` under ``/api/``, plain text on a
    page — instead of its bare "Content Too Large". Add it inside :class:`SecurityHeaders`
    (FastAPI's own body limit sits outside every middleware: its 413 went out without them)."""

    def __init__(self, app, max_upload_mb: int) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=(max_upload_mb + 1) << 20)
        self.message = (f"the upload is larger than {max_upload_mb} MB: split the export, or "
                        "ask the operator to raise max_upload_mb")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = False

        async def answer(message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 413:
                refused = True  # the limiter's own body follows: replaced below
                return
            if refused:
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    api = scope["path"].startswith("/api/")
                    body = (json.dumps({"detail": self.message}) if api else self.message)
                    kind = b"application/json" if api else b"text/plain; charset=utf-8"
                    await send({"type": "http.response.start", "status": 413,
                                "headers": [(b"content-type", kind),
                                            (b"content-length", str(len(body.encode())).encode())]})
                    await send({"type": "http.response.body", "body": body.encode()})
                return
            await send(message)

        await self.app(scope, receive, answer)


def _status_of(exc: SafelightError) -> int:
    if isinstance(exc, services.Forbidden):
        return 403
    if isinstance(exc, services.NotFound):
        return 404
    if isinstance(exc, services.IntegrityFailure):
        return 500
    if isinstance(exc, AuthError):
        return 401
    return 422


def _help_finder_bundle(state: HubState) -> dict[str, bytes]:
    with state.reading_hub() as hub:
        return finder.render_bundle(finder.docs_by_country(hub))


def create_app(hub_path: str | Path, settings: WebSettings | None = None) -> FastAPI:
    """The web application over the hub at ``hub_path`` (opened now, migrated if needed)."""
    settings = settings or WebSettings()
    state = HubState(hub_path, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        state.close()

    app = FastAPI(title="safelight hub", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="The safelight hub's HTTP API. Sign in with POST /api/v1/session; "
                              "send the session cookie and, on state-changing calls, the "
                              "X-CSRF-Token header.")
    app.state.hub = state
    app.state.limiter = LoginLimiter(settings.login_max_failures,
                                     settings.login_window_minutes * 60)
    app.state.dashboard = Dashboard(state)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("safelight.web", "static")]), name="static")
    # The public help finder (safelight.refer): the one part of the site open without an
    # account, by design; it serves only services' public front doors and the cited hotlines.
    app.include_router(help_finder_router(bundle=lambda: _help_finder_bundle(state)),
                       prefix="/help", include_in_schema=False)

    # the body limit inside the security headers (the middleware added last is the outermost)
    app.add_middleware(UploadLimit, max_upload_mb=settings.max_upload_mb)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def _error_page(request: Request, status: int, message: str) -> Response:
        return render(request, "error.html", None, status=status, status_code=status,
                      message=message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        expired = "&expired=1" if exc.expired else ""
        return RedirectResponse(f"/login?next={quote(exc.next_url)}{expired}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def page_forbidden(request: Request, exc: PageForbidden) -> Response:
        return _error_page(request, 403, "Your role may not open this page.")

    @app.exception_handler(SafelightError)
    async def safelight_error(request: Request, exc: SafelightError) -> Response:
        status = _status_of(exc)
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return _error_page(request, status, message_of(exc))  # a Message is translated

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or request.url.path.startswith("/static"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        too_large = pages.FORM_TOO_LARGE.get(request.url.path)
        if too_large and exc.status_code == 400 and "exceeded maximum size" in str(exc.detail):
            return _error_page(request, 422, too_large[2])  # the form parser's 1 MB a field
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=422)
        too_large = pages.FORM_TOO_LARGE.get(request.url.path)
        if too_large and all(e.get("type") == "string_too_long"
                             and tuple(e.get("loc", ()))[-1:] == (too_large[0],)
                             for e in exc.errors()):  # that field alone: say what to do
            return _error_page(request, 422, too_large[1])
        return _error_page(request, 422, "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}"
                                                   for d in detail))

    return app


def run(hub_path: str | Path, settings: WebSettings | None = None, *, host: str = "127.0.0.1",
        port: int = 8000, log_level: str = "info") -> None:
    """Serve the application with uvicorn (one process: the hub has one writer)."""
    import uvicorn

    app = create_app(hub_path, settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)
