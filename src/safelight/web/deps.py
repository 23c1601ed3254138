"""Request plumbing shared by the pages and the API: the signed-in user, roles, CSRF checks,
upload bodies read after those checks (:func:`upload_form`).

Contract: :func:`api_user` and :func:`page_user` return the user of a full, live session or
refuse (401 for the API, a redirect to the login page for pages); both refuse a
state-changing request (POST, PUT, PATCH, DELETE) whose CSRF token (``X-CSRF-Token`` header
for the API, ``csrf_token`` form field for pages) is not the session's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from safelight.web.auth import SLOW, User, cached_session_user, csrf_ok, session_user
from safelight.web.roles import ROLES
from safelight.web.state import HubState

COOKIE = "safelight_session"
PRE_COOKIE = "safelight_pre"  # CSRF token of the login forms (before a session exists)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ALL_ROLES = ROLES
CAN = {
    "dashboard": ALL_ROLES,
    "contributions": ("admin", "analyst", "contributor"),
    "upload": ("admin", "contributor"),
    "records": ("admin", "contributor"),
    "review": ("admin", "reviewer"),
    "persons": ("admin", "reviewer", "analyst"),
    "releases": ("admin", "analyst", "viewer"),
    "release_create": ("admin", "analyst"),
    "users": ("admin",),
    "link_run": ("admin",),
    "audit": ("admin",),
    "services": ("admin", "caseworker"),
    "refer": ("admin", "caseworker"),
}


class LoginRequired(Exception):
    """A page needs a signed-in user; the handler redirects to the login page (``expired``:
    the browser sent a session that has ended, which the login page says)."""

    def __init__(self, next_url: str, expired: bool = False) -> None:
        self.next_url = next_url
        self.expired = expired


class PageForbidden(Exception):
    """A page the user's role may not see."""


def state_of(request: Request) -> HubState:
    return request.app.state.hub


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _user(request: Request) -> User | None:
    """The session's user: from memory on the event loop when possible, else from the hub in
    a worker thread (the hub's lock may be held by a long upload)."""
    state, sid = state_of(request), request.cookies.get(COOKIE)
    user = cached_session_user(state, sid)
    if user is SLOW:
        user = await run_in_threadpool(session_user, state, sid)
    return user  # type: ignore[return-value]


async def api_user(request: Request) -> User:
    user = await _user(request)
    if user is None:
        raise HTTPException(401, "sign in first (POST /api/v1/session)",
                            headers={"WWW-Authenticate": "Cookie"})
    if request.method not in SAFE_METHODS and not csrf_ok(user, request.headers.get("X-CSRF-Token")):
        raise HTTPException(403, "missing or wrong X-CSRF-Token header (the csrf_token given at "
                                 "sign-in)")
    return user


async def _audit_role_refusal(request: Request, user: User, action: str) -> None:
    """Record that ``user``'s role was refused ``action`` (``web.refused``: who, which route
    group, the method — never the path's values nor the query): an account probing what it
    may not see shows in the audit chain, as refused sign-ins and exports do."""
    await run_in_threadpool(state_of(request).audit, user.username, "web.refused",
                            f"route:{action}", {"reason": "role", "role": user.role,
                                                "method": request.method})


def api_role(action: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the API user, if their role may do ``action`` (else 403)."""
    allowed = CAN[action]

    async def dep(request: Request) -> User:
        user = await api_user(request)
        if user.role not in allowed:
            await _audit_role_refusal(request, user, action)
            raise HTTPException(403, f"the role {user.role!r} may not do this ({action}: "
                                     f"{', '.join(allowed)})")
        return user

    dep.__name__ = f"api_role_{action}"
    return dep


def page_role(action: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency for pages: the user, if their role may do ``action``.

    GET pages only check the session; form posts check ``csrf_token`` in the handler
    (:func:`check_form`), since the form body is read there.
    """
    allowed = CAN[action]

    async def dep(request: Request) -> User:
        user = await _user(request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target, expired=bool(request.cookies.get(COOKIE)))
        if user.role not in allowed:
            await _audit_role_refusal(request, user, action)
            raise PageForbidden(action)
        return user

    dep.__name__ = f"page_role_{action}"
    return dep


Fields = TypeVar("Fields", bound=BaseModel)
MAX_UPLOAD_FIELDS = 20  # form fields besides the file an upload may carry (it uses at most 4)


@asynccontextmanager
async def upload_form(request: Request, fields: type[Fields]) -> AsyncIterator[tuple[UploadFile, Fields]]:
    """The multipart body of an upload: its one file (field ``file``) and the other fields,
    validated by ``fields`` (otherwise :class:`RequestValidationError`, 422 like any invalid
    request); the spooled file is closed on leaving.

    Routes read it here, in the handler, so that the body is read only once the route's
    dependencies have accepted the session and the role: FastAPI parses (and spools to disk)
    the whole body of ``File()``/``Form()`` parameters before any dependency runs, so an
    unauthenticated request could make the server read up to ``max_upload_mb`` before being
    refused.
    """
    form = await request.form(max_files=1, max_fields=MAX_UPLOAD_FIELDS)
    try:
        file = form.get("file")
        errors = [] if isinstance(file, UploadFile) else [
            {"type": "missing", "loc": ("body", "file"), "msg": "Field required (a file)"}]
        try:
            parsed = fields.model_validate({k: v for k, v in form.multi_items()
                                            if k != "file" and isinstance(v, str)})
        except ValidationError as exc:
            errors += [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        if errors:
            raise RequestValidationError(errors)
        yield file, parsed  # type: ignore[misc]
    finally:
        await form.close()


def check_form(user: User, token: str | None) -> None:
    if not csrf_ok(user, token):
        raise HTTPException(403, "the form has expired (CSRF token); reload the page")


def allowed_actions(user: User | None) -> set[str]:
    return {a for a, roles in CAN.items() if user is not None and user.role in roles}
