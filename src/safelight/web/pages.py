"""Server-rendered pages (Jinja2): the same operations as the API, for a browser.

Contract: every page needs a signed-in user of the right role (else the login page, or a 403
page); every form post carries the session's CSRF token; pages work without JavaScript.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from safelight.errors import SafelightError, UsageError
from safelight.messages import Message, message_of
from safelight.web import auth, linkage, referrals, releases, services
from safelight.web.auth import User
from safelight.web.deps import (
    COOKIE,
    PRE_COOKIE,
    check_form,
    client_of,
    page_role,
    state_of,
    upload_form,
)
from safelight.web.render import fragment, language, new_token, render

router = APIRouter(include_in_schema=False)

Cid = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Rid = Annotated[int, PathParam(ge=1, le=2**62)]
PAGE = 50


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/",
                        secure=state_of(request).settings.cookie_secure)


# ---- sign-in

@router.get("/")
def home() -> RedirectResponse:
    return _see_other("/dashboard")


@router.get("/login")
def login_page(*, request: Request, next: str | None = None, changed: bool = False,
               expired: bool = False) -> HTMLResponse:
    token = new_token()
    resp = render(request, "login.html", None, next=_safe_next(next), pre_token=token,
                  changed=changed, expired=expired)
    _set_cookie(request, resp, PRE_COOKIE, token)
    return resp


def _pre_ok(request: Request, token: str) -> bool:
    cookie = request.cookies.get(PRE_COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie, token or "")


@router.post("/login")
def login_post(*, request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
               pre_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/dashboard") -> Response:
    state = state_of(request)
    if not _pre_ok(request, pre_token):
        return login_error(request, "The form has expired; please try again.", next, 403)
    try:
        row = auth.authenticate(state, request.app.state.limiter, username, password,
                                client_of(request))
    except auth.AuthError as exc:
        status = 429 if getattr(exc, "retry_after", None) else 401
        return login_error(request, str(exc), next, status)
    stage = "totp" if row["role"] in auth.TOTP_ROLES else "full"
    sid, _csrf = auth.start_session(state, row["username"], stage)
    target = f"/login/totp?next={quote(_safe_next(next))}" if stage == "totp" else _safe_next(next)
    resp = _see_other(target)
    _set_cookie(request, resp, COOKIE, sid)
    return resp


def login_error(request: Request, message: str, next: str | None, status: int,
                template: str = "login.html") -> HTMLResponse:
    token = new_token()
    resp = render(request, template, None, status=status, error=message,
                  next=_safe_next(next), pre_token=token)
    _set_cookie(request, resp, PRE_COOKIE, token)
    return resp


@router.get("/login/totp")
def totp_page(*, request: Request, next: str | None = None) -> HTMLResponse:
    token = new_token()
    resp = render(request, "totp.html", None, next=_safe_next(next), pre_token=token)
    _set_cookie(request, resp, PRE_COOKIE, token)
    return resp


@router.post("/login/totp")
def totp_post(*, request: Request, code: Annotated[str, Form()] = "", pre_token: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/dashboard") -> Response:
    if not _pre_ok(request, pre_token):
        return login_error(request, "The form has expired; please try again.", next, 403,
                           "totp.html")
    try:
        sid, _ = auth.complete_totp(state_of(request), request.app.state.limiter,
                                    request.cookies.get(COOKIE) or "", code, client_of(request))
    except auth.AuthError as exc:
        return login_error(request, str(exc), next, 401, "totp.html")
    resp = _see_other(_safe_next(next))
    _set_cookie(request, resp, COOKIE, sid)
    return resp


@router.post("/logout")
def logout(*, request: Request, csrf_token: Annotated[str, Form()] = "",
           user: Annotated[User, Depends(page_role("dashboard"))]) -> Response:
    check_form(user, csrf_token)
    auth.end_session(state_of(request), request.cookies.get(COOKIE), actor=user.username)
    resp = _see_other("/login")
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def set_language(*, request: Request, code: str, next: str | None = None) -> Response:
    resp = _see_other(_safe_next(next))
    if code in state_of(request).settings.languages:
        resp.set_cookie("lang", code, max_age=365 * 86400, samesite="strict", path="/",
                        secure=state_of(request).settings.cookie_secure, httponly=True)
    return resp


# ---- dashboard

@router.get("/dashboard")
async def dashboard(*, request: Request, show: Annotated[str | None, Query(max_length=80)] = None,
                    user: Annotated[User, Depends(page_role("dashboard"))]) -> HTMLResponse:
    # cached report and fragment: answered on the event loop; otherwise computed in a thread
    board = request.app.state.dashboard
    lang = language(request)
    key = (lang, show or "")
    d = board.cached()
    body = d["_fragments"].get(key) if d is not None else None
    if body is None:
        body = await run_in_threadpool(_dashboard_body, board, lang, show or "")
    return render(request, "dashboard.html", user, body=body)


def _dashboard_body(board, lang: str, show: str):
    """The dashboard's body showing every indicator (``show`` empty) or one; rendered once per
    language and indicator and cached with the report. An unknown ``show`` is
    :class:`~safelight.web.services.NotFound` and cached never: the cache holds at most one
    fragment per language and indicator, whatever ids are asked for."""
    d = board.get()
    body = d["_fragments"].get((lang, show))
    if body is None:  # the indicators do not depend on the user: render them once per language
        shown = [i for i in d["indicators"] if show in ("", i["id"])]
        if show and not shown:
            raise services.NotFound("no such indicator on the dashboard")
        body = d["_fragments"][(lang, show)] = fragment("dashboard_body.html", lang, d=d,
                                                        shown=shown, show=show)
    return body


@router.get("/dashboard/charts/{ind_id}.svg")
async def chart(*, request: Request, ind_id: str,
                user: Annotated[User, Depends(page_role("dashboard"))]) -> Response:
    board = request.app.state.dashboard
    d = board.cached()
    svg = d["charts"].get(ind_id) if d is not None else None
    if svg is None:
        svg = await run_in_threadpool(board.chart, ind_id)
    if svg is None:
        raise services.NotFound(f"no chart {ind_id}")
    return Response(svg, media_type="image/svg+xml", headers={
        "Cache-Control": "private, max-age=300",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


# ---- contributions

def _contributions_page(request: Request, user: User, *, result: dict | None = None,
                        error: str | None = None, status: int = 200,
                        typed: dict[str, str] | None = None) -> HTMLResponse:
    """The contributions page; ``typed``: the profile and contributor of the file just checked
    or refused, kept selected (the profile went back to the first one)."""
    state = state_of(request)
    can_upload = user.role in ("admin", "contributor")
    return render(request, "contributions.html", user, status=status,
                  contributions=services.list_contributions(state, user),
                  profiles=list(services.profiles(state, user)) if can_upload else [],
                  contributors=services.contributors(state, user), can_upload=can_upload,
                  result=result, error=error, typed=typed or {})


@router.get("/contributions")
def contributions(*, request: Request,
                  user: Annotated[User, Depends(page_role("contributions"))]) -> HTMLResponse:
    return _contributions_page(request, user)


class _UploadForm(BaseModel):
    """The upload form's fields besides its ``file``."""

    profile: str = ""
    contributor: str | None = None
    action: str = "upload"
    csrf_token: str = ""


@router.post("/contributions")
async def upload(*, request: Request, user: Annotated[User, Depends(page_role("upload"))]) -> Response:
    # the body is read only now, after the session and role were checked
    async with upload_form(request, _UploadForm) as (file, form):
        check_form(user, form.csrf_token)
        typed = {"profile": form.profile, "contributor": form.contributor or ""}
        try:
            result = await run_in_threadpool(
                services.upload, state_of(request), user, file.filename, file.file,
                profile=form.profile, contributor=form.contributor or None,
                check_only=form.action == "check")
        except services.Forbidden:
            raise
        except SafelightError as exc:
            return await run_in_threadpool(_contributions_page, request, user, error=str(exc),
                                           status=422, typed=typed)
    return await run_in_threadpool(_contributions_page, request, user, result=result,
                                   typed=typed)


@router.get("/contributions/{cid}")
def contribution(*, cid: Cid, request: Request, page: Annotated[int, Query(ge=0, le=10**6)] = 0,
                 user: Annotated[User, Depends(page_role("contributions"))]) -> HTMLResponse:
    state = state_of(request)
    c = services.get_contribution(state, user, cid)
    rows = (services.quarantine(state, user, cid, PAGE, page * PAGE)
            if user.role in ("admin", "contributor") and c["rows_quarantined"] else [])
    return render(request, "contribution.html", user, c=c, rules=services.top_rules(state, cid),
                  rows=rows, page=page, more=(page + 1) * PAGE < c["rows_quarantined"])


@router.get("/contributions/{cid}/quarantine.csv")
def quarantine_csv(*, cid: Cid, request: Request,
                   user: Annotated[User, Depends(page_role("upload"))]) -> Response:
    text = services.quarantine_csv(state_of(request), user, cid)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="quarantine-{cid}.csv"'})


#: the counts a withdrawal reports, in the order the page's redirect carries them (``done``)
_WITHDRAWN_COUNTS = ("cases_withdrawn", "identities_erased", "quarantined_rows_redacted",
                     "encoded_records_erased", "pending")


@router.get("/records")
def records(*, request: Request, contributor: Annotated[str | None, Query(max_length=100)] = None,
            page: Annotated[int, Query(ge=0, le=10**6)] = 0,
            done: Annotated[str | None, Query(max_length=200)] = None,
            user: Annotated[User, Depends(page_role("records"))]) -> HTMLResponse:
    return _records_page(request, user, contributor, page, withdrawn=_withdrawn_from(done))


def _withdrawn_from(done: str | None) -> dict | None:
    """The report of a withdrawal from the redirect's ``done`` (its counts, comma-separated, in
    :data:`_WITHDRAWN_COUNTS` order: no record id ever goes in a URL); None when absent or
    not such a list."""
    parts = (done or "").split(",")
    if len(parts) != len(_WITHDRAWN_COUNTS) or not all(x.isdigit() for x in parts):
        return None
    return dict(zip(_WITHDRAWN_COUNTS, map(int, parts), strict=True))


def _records_page(request: Request, user: User, contributor: str | None, page: int = 0, *,
                  withdrawn: dict | None = None, error: str | None = None, status: int = 200,
                  typed: dict | None = None) -> HTMLResponse:
    state = state_of(request)
    choices = services.contributors(state, user)
    chosen = user.contributor if user.role == "contributor" else contributor
    data = services.records(state, user, chosen, PAGE, page * PAGE) if chosen else None
    return render(request, "records.html", user, status=status, data=data, choices=choices,
                  chosen=chosen, page=page, fields=services.CASE_SHOWN,
                  more=bool(data) and (page + 1) * PAGE < data["total"], withdrawn=withdrawn,
                  error=error, typed=typed or {})


#: the longest list of record ids the withdrawal form takes (characters)
MAX_WITHDRAW_TEXT = 1_000_000
#: what a form page says when what was pasted is longer than it takes, by path: the field
#: with a length limit, what to say when that field alone is over it, and what to say when a
#: field is over the form parser's 1 MB (counted as sent, URL-encoded; the parser does not
#: say which field) — instead of the parser's "Field exceeded maximum size of 1024KB."
FORM_TOO_LARGE: dict[str, tuple[str, Message, Message]] = {
    "/records/withdraw": (
        "record_ids",
        Message("The list of record ids is longer than the form takes ({limit} characters): "
                "withdraw the records in several parts, or with `safelight consent withdraw` "
                "on the hub's machine.", limit=f"{MAX_WITHDRAW_TEXT:,}"),
        Message("What was pasted into the form is larger than it takes (1 MB a field, as "
                "sent): withdraw the records in several parts, or with `safelight consent "
                "withdraw` on the hub's machine.")),
}


@router.post("/records/withdraw")
def records_withdraw(*, request: Request, contributor: Annotated[str, Form(max_length=100)] = "",
                     record_ids: Annotated[str, Form(max_length=MAX_WITHDRAW_TEXT)] = "",
                     reason: Annotated[str, Form(max_length=4000)] = "",
                     not_yet_received: Annotated[bool, Form()] = False,
                     csrf_token: Annotated[str, Form()] = "",
                     user: Annotated[User, Depends(page_role("records"))]) -> Response:
    check_form(user, csrf_token)
    try:
        done = services.withdraw_consent(state_of(request), user, contributor or None,
                                         record_ids, reason, not_yet_received)
    except services.Forbidden:
        raise
    except SafelightError as exc:
        return _records_page(request, user, contributor or None, error=str(exc), status=422,
                             typed={"record_ids": record_ids, "reason": reason,
                                    "not_yet_received": not_yet_received})
    # Post/Redirect/Get: a reload of the report does not send the withdrawal again (it was
    # idempotent, but audited once more each time)
    counts = ",".join(str(int(done.get(k) or 0)) for k in _WITHDRAWN_COUNTS)
    query = urlencode({"contributor": done["contributor"] or "", "done": counts})
    return _see_other(f"/records?{query}")


# ---- linkage

@router.get("/review")
def review(*, request: Request, status: Annotated[str, Query(pattern="^(open|decided|all)$")] = "open",
           contributor: Annotated[str | None, Query(max_length=100)] = None,
           page: Annotated[int, Query(ge=0, le=10**6)] = 0, done: Annotated[int, Query(ge=0, le=1)] = 0,
           user: Annotated[User, Depends(page_role("review"))]) -> HTMLResponse:
    state = state_of(request)
    contributor = contributor or None
    q = linkage.review_queue(state, user, status, PAGE, page * PAGE, contributor)
    return render(request, "review.html", user, q=q, filt=status, page=page,
                  choices=services.contributors(state, user), chosen=contributor,
                  done=linkage.next_open_pair(state, user, None, contributor) if done else None,
                  claim_minutes=linkage.CLAIM_MINUTES, more=(page + 1) * PAGE < q["total"])


@router.get("/review/next")
def review_next(*, request: Request,
                after: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$")] = None,
                contributor: Annotated[str | None, Query(max_length=100)] = None,
                user: Annotated[User, Depends(page_role("review"))]) -> Response:
    """The next open pair (after the one just seen), or the queue saying there is none."""
    contributor = contributor or None
    nxt = linkage.next_open_pair(state_of(request), user, after, contributor)
    if nxt["pair_id"] is None:
        return _see_other(_with_contributor("/review?done=1", contributor))
    return _see_other(_with_contributor(f"/review/{nxt['pair_id']}", contributor))


def _with_contributor(url: str, contributor: str | None) -> str:
    """``url`` with the queue's contributor filter (kept from page to page)."""
    if not contributor:
        return url
    return f"{url}{'&' if '?' in url else '?'}contributor={quote(contributor, safe='')}"


@router.get("/review/{pair_id}")
def review_pair(*, pair_id: str, request: Request,
                contributor: Annotated[str | None, Query(max_length=100)] = None,
                saved: Annotated[int, Query(ge=0, le=1)] = 0,
                user: Annotated[User, Depends(page_role("review"))]) -> HTMLResponse:
    state = state_of(request)
    p = linkage.review_pair(state, user, pair_id)
    if p["decision"] is None:  # a reviewer at the pair's page: theirs for CLAIM_MINUTES
        linkage.claim_pair(state, user, pair_id)
    return render(request, "pair.html", user, p=p, error=None, chosen=contributor or None,
                  saved=bool(saved))


@router.post("/review/{pair_id}")
def review_decide(*, pair_id: str, request: Request, decision: Annotated[str, Form()] = "",
                  reason: Annotated[str, Form()] = "", overrule: Annotated[str, Form()] = "",
                  contributor: Annotated[str, Form(max_length=100)] = "",
                  csrf_token: Annotated[str, Form()] = "",
                  user: Annotated[User, Depends(page_role("review"))]) -> Response:
    check_form(user, csrf_token)
    state = state_of(request)
    try:
        linkage.decide_pair(state, user, pair_id, decision, reason, overrule == "1")
    except services.NotFound:
        raise
    except SafelightError as exc:
        return render(request, "pair.html", user, status=422, error=str(exc),
                      p=linkage.review_pair(state, user, pair_id), chosen=contributor or None,
                      saved=False, typed={"decision": decision, "reason": reason,
                                          "overrule": overrule == "1"})  # not typed twice
    return _see_other(_with_contributor(f"/review/{pair_id}?saved=1", contributor))


@router.post("/linkage/run")
def linkage_run(*, request: Request, csrf_token: Annotated[str, Form()] = "",
                user: Annotated[User, Depends(page_role("link_run"))]) -> Response:
    check_form(user, csrf_token)
    linkage.run_linkage(state_of(request), user)
    return _see_other("/review")


@router.get("/persons")
def persons(*, request: Request, page: Annotated[int, Query(ge=0, le=10**6)] = 0,
            user: Annotated[User, Depends(page_role("persons"))]) -> HTMLResponse:
    data = linkage.persons_seen_by_several(state_of(request), user, PAGE, page * PAGE)
    return render(request, "persons.html", user, data=data, page=page,
                  more=(page + 1) * PAGE < data["total"])


# ---- own account

@router.get("/account")
def account(*, request: Request, user: Annotated[User, Depends(page_role("dashboard"))]) -> HTMLResponse:
    return render(request, "account.html", user, error=None)


@router.post("/account/password")
def account_password(*, request: Request, current: Annotated[str, Form(max_length=1000)] = "",
                     new: Annotated[str, Form(max_length=1000)] = "", again: Annotated[str, Form(max_length=1000)] = "",
                     csrf_token: Annotated[str, Form()] = "",
                     user: Annotated[User, Depends(page_role("dashboard"))]) -> Response:
    check_form(user, csrf_token)
    try:
        if new != again:
            raise UsageError("the two new passwords differ")
        auth.change_own_password(state_of(request), request.app.state.limiter, user, current, new,
                                 client_of(request))
    except SafelightError as exc:
        return render(request, "account.html", user, error=str(exc), status=422)
    resp = _see_other("/login?changed=1")
    resp.delete_cookie(COOKIE, path="/")
    return resp


# ---- services and referrals (caseworkers)

_MATCH_FIELDS = ("needs", "languages", "near", "gender", "age", "nationality", "legal_status",
                 "with_children", "max_km")


def _services_page(request: Request, user: User, *, query: dict | None = None, found: dict | None = None,
                   error: str | None = None, done: str | None = None, status: int = 200,
                   referral: dict[str, str] | None = None) -> HTMLResponse:
    """The service search; ``referral``: a refused referral's form (its service's form is
    shown open again with what was typed, beside the search it came from)."""
    from safelight.refer.model import GENDERS, LEGAL_STATUSES, NEED_LABELS, REFERRAL_REASONS

    return render(request, "services.html", user, status=status, query=query or {}, found=found,
                  error=error, done=done, needs=NEED_LABELS, genders=GENDERS, legal_statuses=LEGAL_STATUSES,
                  reasons=REFERRAL_REASONS, bound=user.contributor, referral=referral or {},
                  match_fields=_MATCH_FIELDS)


def _query_of(form) -> dict:
    """The service search's fields in a posted form (the search form, or a referral form that
    carries its search along); ``main_need`` goes first among the needs (ticked boxes come in
    page order, so "the first ticked" could never be legal aid before shelter)."""
    query = {f: (form.getlist(f) if f == "needs" else str(form.get(f) or "")) for f in _MATCH_FIELDS}
    main = str(form.get("main_need") or "")
    if main:
        query["needs"] = [main, *(n for n in query["needs"] if n != main)]
    return query


@router.get("/services")
def services_page(*, request: Request, user: Annotated[User, Depends(page_role("services"))]) -> HTMLResponse:
    return _services_page(request, user)


@router.post("/services")
async def services_search(*, request: Request,
                          user: Annotated[User, Depends(page_role("services"))]) -> HTMLResponse:
    """The search is a POST so that a person's age, nationality and status never sit in a URL."""
    form = await request.form()
    check_form(user, str(form.get("csrf_token") or ""))
    query = _query_of(form)
    try:
        found = await run_in_threadpool(referrals.match_services, state_of(request), user, query)
    except SafelightError as exc:
        return _services_page(request, user, query=query, error=message_of(exc), status=422)
    return _services_page(request, user, query=query, found=found)


@router.post("/referrals")
async def referrals_create(*, request: Request,
                           user: Annotated[User, Depends(page_role("refer"))]) -> Response:
    form = await request.form()
    check_form(user, str(form.get("csrf_token") or ""))
    record_id, service_id = str(form.get("record_id") or ""), str(form.get("service_id") or "")
    contributor = str(form.get("contributor") or "") or None
    try:
        if not record_id.strip():
            raise UsageError(Message("case record id: say which case you refer"))
        row = await run_in_threadpool(referrals.refer_case, state_of(request), user, record_id, service_id,
                                      contributor=contributor,
                                      reason=str(form.get("reason") or "AdditionalServicesRequired"),
                                      details=str(form.get("details") or "") or None,
                                      consent_now=bool(form.get("consent_now")),
                                      consent_note=str(form.get("consent_note") or "") or None)
    except SafelightError as exc:
        # the search it came from, again (it was lost: the caseworker searched anew)
        query, found = _query_of(form), None
        if query.get("needs"):
            try:
                found = await run_in_threadpool(referrals.match_services, state_of(request),
                                                user, query)
            except SafelightError:
                found = None
        typed = {k: str(form.get(k) or "") for k in ("service_id", "record_id", "contributor",
                                                      "reason", "details")}
        return _services_page(request, user, query=query, found=found, error=message_of(exc),
                              status=422, referral=typed)
    return _see_other(f"/referrals?done={row['referral_id']}")


@router.get("/referrals")
def referrals_list(*, request: Request, done: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                   user: Annotated[User, Depends(page_role("refer"))]) -> HTMLResponse:
    from safelight.refer.model import NEED_LABELS

    return render(request, "referrals.html", user, rows=referrals.list_referrals(state_of(request), user),
                  done=done, need_labels=NEED_LABELS)


# ---- releases

def _releases_page(request: Request, user: User, error: str | None = None,
                   status: int = 200, typed: dict[str, Any] | None = None) -> HTMLResponse:
    """The releases page; ``typed``: the refused form's method, k, length and columns, shown
    again (they went back to the defaults)."""
    return render(request, "releases.html", user, status=status, error=error,
                  ledger=releases.list_releases(state_of(request), user),
                  columns=releases.RELEASE_COLUMNS, methods=releases.RELEASE_METHODS,
                  k_min=state_of(request).settings.report_threshold,
                  can_create=user.role in ("admin", "analyst"),
                  exact_counts=user.role in releases.EXACT_COUNT_ROLES, typed=typed or {})


@router.get("/releases")
def releases_list(*, request: Request, user: Annotated[User, Depends(page_role("releases"))]) -> HTMLResponse:
    return _releases_page(request, user)


@router.post("/releases")
async def releases_create(*, request: Request,
                          user: Annotated[User, Depends(page_role("release_create"))]) -> Response:
    form = await request.form()
    check_form(user, str(form.get("csrf_token") or ""))
    columns = [str(c) for c in form.getlist("columns")]
    typed = {"method": str(form.get("method") or ""), "k": str(form.get("k") or ""),
             "length": str(form.get("length") or ""), "columns": columns}
    try:
        k, length, seed = (int(str(form.get(n) or d)) for n, d in
                           (("k", 11), ("length", 2), ("seed", 0)))
    except ValueError:
        return _releases_page(request, user, "k, length and seed must be whole numbers", 422,
                              typed)
    try:
        out = await run_in_threadpool(releases.create_release, state_of(request), user,
                                      typed["method"], k, length, columns, seed)
    except SafelightError as exc:
        return _releases_page(request, user, str(exc), 422, typed)
    return _see_other(f"/releases/{out['release_id']}")


@router.get("/releases/{rid}")
def release(*, rid: Rid, request: Request,
            user: Annotated[User, Depends(page_role("releases"))]) -> HTMLResponse:
    return render(request, "release.html", user, r=releases.get_release(state_of(request), user, rid))


@router.get("/releases/{rid}/download")
def release_download(*, rid: Rid, request: Request,
                     user: Annotated[User, Depends(page_role("releases"))]) -> Response:
    path, name = releases.release_file(state_of(request), user, rid)
    return FileResponse(path, media_type="text/csv", filename=name)


# ---- users

def _users_page(request: Request, user: User, *, error: str | None = None,
                created: dict | None = None, status: int = 200,
                typed: dict[str, str] | None = None) -> HTMLResponse:
    """The users page; ``typed``: what the refused form held (user name, role, contributor —
    never the password), shown again so that nothing is typed twice and no role is guessed."""
    state = state_of(request)
    return render(request, "users.html", user, status=status, error=error, created=created,
                  users=auth.list_users(state), roles=auth.ROLES,
                  contributors=services.contributors(state, user), typed=typed or {})


@router.get("/users")
def users(*, request: Request, user: Annotated[User, Depends(page_role("users"))]) -> HTMLResponse:
    return _users_page(request, user)


@router.post("/users")
def users_add(*, request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              role: Annotated[str, Form()] = "", contributor: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
              user: Annotated[User, Depends(page_role("users"))]) -> HTMLResponse:
    check_form(user, csrf_token)
    try:
        secret = auth.add_user(state_of(request), username, password, role,
                               contributor=contributor or None, actor=user.username)
    except SafelightError as exc:
        return _users_page(request, user, error=str(exc), status=422,
                           typed={"username": username, "role": role, "contributor": contributor})
    name = username.strip().lower()
    created = _enrolment(name, secret)
    return _users_page(request, user, created=created)


def _enrolment(username: str, secret: str | None) -> dict:
    """What the users page shows once after an account or a new TOTP secret was made."""
    uri = auth.totp_uri(username, secret) if secret else None
    return {"username": username, "secret": secret, "uri": uri, "qr": auth.totp_qr(uri) if uri else None}


@router.post("/users/{username}")
def users_update(*, username: str, request: Request, action: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "",
                 user: Annotated[User, Depends(page_role("users"))]) -> HTMLResponse:
    check_form(user, csrf_token)
    state = state_of(request)
    try:
        if action not in ("activate", "deactivate", "reset_totp"):
            raise UsageError(f"unknown action {action!r}")
        secret = auth.update_user(state, username, actor=user.username,
                                  active={"activate": True, "deactivate": False}.get(action),
                                  reset_totp=action == "reset_totp")
    except SafelightError as exc:
        return _users_page(request, user, error=str(exc), status=422)
    created = _enrolment(username, secret) if secret else None
    return _users_page(request, user, created=created)
