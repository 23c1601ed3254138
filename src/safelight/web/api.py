"""The JSON API under ``/api/v1``: everything the pages do.

Contract: every endpoint but ``POST /session`` (sign-in) needs a live session cookie, and every
state-changing one the ``X-CSRF-Token`` header given at sign-in; each checks the role
(:data:`safelight.web.deps.CAN`); a contributor account is limited to its own contributor's
data by :mod:`safelight.web.services`.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Query,
    Request,
    Response,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from safelight.web import auth, linkage, referrals, releases, services
from safelight.web.auth import User
from safelight.web.deps import COOKIE, api_role, api_user, client_of, state_of, upload_form

router = APIRouter(prefix="/api/v1")

Cid = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Rid = Annotated[int, PathParam(ge=1, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
PairId = Annotated[str, PathParam(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
UserName = Annotated[str, PathParam(min_length=2, max_length=63)]


class LoginIn(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=1000)
    totp: str | None = Field(default=None, max_length=12)


class DecisionIn(BaseModel):
    decision: Literal["match", "non_match", "undecided"]  # undecided: take a decision back
    reason: str = Field(min_length=1, max_length=2000)
    #: confirm that this decision overrules another reviewer's different one
    overrule: bool = False


class WithdrawalIn(BaseModel):
    #: whose records (a contributor account's own always)
    contributor: str | None = Field(default=None, max_length=100)
    record_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=services.MAX_WITHDRAWAL_IDS)
    #: kept with the withdrawal (never a person's name, birth date, phone or document)
    reason: str = Field(default="", max_length=2000)
    #: ids the hub does not hold yet are recorded (their records are refused when they come)
    not_yet_received: bool = False


class ReleaseIn(BaseModel):
    method: Literal["aggregates", "synthetic"] = "aggregates"
    k: int = Field(default=11, ge=2, le=1000)
    length: int = Field(default=2, ge=1, le=4)
    columns: list[Literal[releases.RELEASE_COLUMNS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["gender", "age_band", "citizenship"], min_length=1,
        max_length=len(releases.RELEASE_COLUMNS))
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class MatchIn(BaseModel):
    """A person's needs and circumstances (nothing here is stored; see docs/web.md)."""

    needs: list[str] = Field(min_length=1, max_length=12)
    languages: list[str] = Field(default_factory=list, max_length=10)
    near: str | None = Field(default=None, max_length=100)
    gender: str | None = Field(default=None, max_length=20)
    age: int | None = Field(default=None, ge=0, le=120)
    nationality: str | None = Field(default=None, max_length=100)
    legal_status: str | None = Field(default=None, max_length=40)
    with_children: bool = False
    max_km: float = Field(default=150, ge=1, le=2000)
    limit: int = Field(default=10, ge=1, le=referrals.MAX_RESULTS)


class ConsentIn(BaseModel):
    record_id: str = Field(min_length=1, max_length=200)
    contributor: str | None = Field(default=None, max_length=100)
    service_id: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class ReferralIn(BaseModel):
    record_id: str = Field(min_length=1, max_length=200)
    service_id: str = Field(min_length=1, max_length=200)
    contributor: str | None = Field(default=None, max_length=100)
    reason: Literal["AdditionalServicesRequired", "MigrationOrChangeOfLocation", "Other"] = \
        "AdditionalServicesRequired"
    details: str | None = Field(default=None, max_length=2000)


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=63)
    password: str = Field(min_length=auth.MIN_PASSWORD, max_length=1000)
    role: Literal[auth.ROLES]  # type: ignore[valid-type]
    contributor: str | None = Field(default=None, max_length=100)
    #: register ``contributor`` on the hub (one that has sent nothing yet); otherwise an
    #: unknown contributor is refused as a typo
    new_contributor: bool = False


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=1000)
    new: str = Field(min_length=auth.MIN_PASSWORD, max_length=1000)


class UserPatch(BaseModel):
    active: bool | None = None
    reset_totp: bool = False
    password: str | None = Field(default=None, min_length=auth.MIN_PASSWORD, max_length=1000)


def _set_session(response: Response, request: Request, sid: str) -> None:
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/",
                        secure=state_of(request).settings.cookie_secure)


@router.post("/session", tags=["session"], summary="Sign in (password, and a TOTP code for "
             "every role but viewer); returns the CSRF token for later requests")
def sign_in(*, body: LoginIn, request: Request, response: Response) -> dict:
    state = state_of(request)
    try:
        sid, csrf = auth.login(state, request.app.state.limiter, body.username, body.password,
                               body.totp, client_of(request))
    except auth.AuthError as exc:
        retry = getattr(exc, "retry_after", None)
        raise HTTPException(429 if retry else 401, str(exc),
                            headers={"Retry-After": str(retry)} if retry else None) from None
    _set_session(response, request, sid)
    user = auth.session_user(state, sid)
    return {"csrf_token": csrf, "user": user.public() if user else None}


@router.delete("/session", tags=["session"], summary="Sign out")
def sign_out(*, request: Request, user: Annotated[User, Depends(api_user)]) -> dict:
    auth.end_session(state_of(request), request.cookies.get(COOKIE), actor=user.username)
    return {"signed_out": True}


@router.get("/me", tags=["session"])
def me(*, user: Annotated[User, Depends(api_user)]) -> dict:
    return {**user.public(), "csrf_token": user.csrf_token}


@router.post("/me/password", tags=["session"], summary="Change your own password (ends every "
             "session of the account, this one included)")
def change_password(*, body: PasswordChange, request: Request, response: Response,
                    user: Annotated[User, Depends(api_user)]) -> dict:
    try:
        auth.change_own_password(state_of(request), request.app.state.limiter, user, body.current,
                                 body.new, client_of(request))
    except auth.AuthError as exc:  # rate-limited: the session itself is still valid
        wait = getattr(exc, "retry_after", 60)
        raise HTTPException(429, str(exc), headers={"Retry-After": str(wait)}) from None
    response.delete_cookie(COOKIE, path="/")
    return {"changed": True, "signed_out": True}


@router.get("/status", tags=["hub"], summary="Counts of the hub (aggregates only)")
def hub_status(*, request: Request, user: Annotated[User, Depends(api_role("audit"))]) -> dict:
    return services.status(state_of(request))


@router.get("/audit/verify", tags=["hub"], summary="Recompute the audit hash chain")
def audit_verify(*, request: Request, user: Annotated[User, Depends(api_role("audit"))]) -> dict:
    state = state_of(request)
    with state.lock:
        ok, message = state.hub.verify_audit()
    return {"ok": ok, "message": message}


@router.get("/profiles", tags=["contributions"])
def list_profiles(*, request: Request, user: Annotated[User, Depends(api_role("upload"))]) -> list[str]:
    return list(services.profiles(state_of(request), user))


@router.get("/contributors", tags=["contributions"])
def list_contributors(*, request: Request, user: Annotated[User, Depends(api_role("contributions"))]) -> list[dict]:
    return services.contributors(state_of(request), user)


@router.get("/contributions", tags=["contributions"])
def list_contributions(*, request: Request, user: Annotated[User, Depends(api_role("contributions"))]) -> list[dict]:
    return services.list_contributions(state_of(request), user)


class UploadFields(BaseModel):
    """The fields of an upload besides its ``file``."""

    profile: str = Field(max_length=300)
    contributor: str | None = Field(default=None, max_length=100)
    check_only: bool = False


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "profile"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   **UploadFields.model_json_schema()["properties"]}}}}}}


@router.post("/contributions", tags=["contributions"], summary="Upload a file: check it "
             "(check_only) or ingest it for a contributor", openapi_extra=_UPLOAD_BODY)
async def upload(*, request: Request, user: Annotated[User, Depends(api_role("upload"))]) -> dict:
    # the body is read only now, after the session, CSRF token and role were checked
    async with upload_form(request, UploadFields) as (file, form):
        return await run_in_threadpool(services.upload, state_of(request), user, file.filename,
                                       file.file, profile=form.profile,
                                       contributor=form.contributor, check_only=form.check_only)


@router.get("/contributions/{cid}", tags=["contributions"])
def contribution(*, cid: Cid, request: Request,
                 user: Annotated[User, Depends(api_role("contributions"))]) -> dict:
    state = state_of(request)
    c = services.get_contribution(state, user, cid)
    return {**c, "top_rules": services.top_rules(state, cid)}


@router.get("/contributions/{cid}/quarantine", tags=["contributions"])
def quarantine(*, cid: Cid, request: Request, limit: Limit = 100, offset: Offset = 0,
               user: Annotated[User, Depends(api_role("upload"))]) -> list[dict]:
    return services.quarantine(state_of(request), user, cid, limit, offset)


@router.get("/contributions/{cid}/quarantine.csv", tags=["contributions"],
            response_class=PlainTextResponse)
def quarantine_csv(*, cid: Cid, request: Request, user: Annotated[User, Depends(api_role("upload"))]):
    text = services.quarantine_csv(state_of(request), user, cid)
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="quarantine-{cid}.csv"'})


@router.get("/records", tags=["contributions"], summary="Case records of one contributor")
def records(*, request: Request, contributor: Annotated[str | None, Query(max_length=100)] = None,
            limit: Limit = 50, offset: Offset = 0,
            user: Annotated[User, Depends(api_role("records"))]) -> dict:
    return services.records(state_of(request), user, contributor, limit, offset)


@router.post("/records/withdraw", tags=["contributions"],
             summary="Withdraw consent for records (as `safelight consent withdraw`)")
def records_withdraw(*, body: WithdrawalIn, request: Request,
                     user: Annotated[User, Depends(api_role("records"))]) -> dict:
    """The records leave linkage and every later release, their identity data is erased, and
    later exports cannot revive them; ids the hub does not hold are refused as typos (nothing
    withdrawn) unless ``not_yet_received``. Counts of what was acted on, audited."""
    return services.withdraw_consent(state_of(request), user, body.contributor,
                                     body.record_ids, body.reason, body.not_yet_received)


@router.get("/review", tags=["linkage"], summary="The review queue")
def review_queue(*, request: Request, status: Literal["open", "decided", "all"] = "open",
                 contributor: Annotated[str | None, Query(max_length=100)] = None,
                 limit: Limit = 50, offset: Offset = 0,
                 user: Annotated[User, Depends(api_role("review"))]) -> dict:
    return linkage.review_queue(state_of(request), user, status, limit, offset, contributor)


@router.get("/review/next", tags=["linkage"], summary="The open pair to review next")
def review_next(*, request: Request,
                after: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$")] = None,
                contributor: Annotated[str | None, Query(max_length=100)] = None,
                user: Annotated[User, Depends(api_role("review"))]) -> dict:
    """The next open pair after ``after`` in the queue's order (``after``, if still open, is
    given back), passing over pairs other reviewers claimed in the last 15 minutes; the pair
    handed out is claimed for the caller. ``pair_id`` is null when none is left."""
    return linkage.next_open_pair(state_of(request), user, after, contributor, claim=True)


@router.get("/review/{pair_id}", tags=["linkage"], summary="A pair with its explanation")
def review_pair(*, pair_id: PairId, request: Request,
                user: Annotated[User, Depends(api_role("review"))]) -> dict:
    return linkage.review_pair(state_of(request), user, pair_id)


@router.post("/review/{pair_id}/decision", tags=["linkage"])
def decide(*, pair_id: PairId, body: DecisionIn, request: Request,
           user: Annotated[User, Depends(api_role("review"))]) -> dict:
    return linkage.decide_pair(state_of(request), user, pair_id, body.decision, body.reason,
                               body.overrule)


@router.post("/linkage/run", tags=["linkage"], summary="Link the hub's consenting records")
def run_linkage(*, request: Request, user: Annotated[User, Depends(api_role("link_run"))]) -> dict:
    return linkage.run_linkage(state_of(request), user)


@router.get("/persons", tags=["linkage"], summary="Persons seen by several contributors")
def persons(*, request: Request, limit: Limit = 100, offset: Offset = 0,
            user: Annotated[User, Depends(api_role("persons"))]) -> dict:
    return linkage.persons_seen_by_several(state_of(request), user, limit, offset)


@router.get("/releases", tags=["releases"], summary="The release ledger")
def releases_list(*, request: Request, user: Annotated[User, Depends(api_role("releases"))]) -> dict:
    return releases.list_releases(state_of(request), user)


@router.post("/releases", tags=["releases"], summary="Make, evaluate and record a release")
def create_release(*, body: ReleaseIn, request: Request,
                   user: Annotated[User, Depends(api_role("release_create"))]) -> dict:
    return releases.create_release(state_of(request), user, body.method, body.k, body.length,
                                   list(body.columns), body.seed)


@router.get("/releases/{rid}", tags=["releases"])
def release(*, rid: Rid, request: Request, user: Annotated[User, Depends(api_role("releases"))]) -> dict:
    return releases.get_release(state_of(request), user, rid)


@router.get("/releases/{rid}/download", tags=["releases"], response_class=FileResponse)
def release_download(*, rid: Rid, request: Request, user: Annotated[User, Depends(api_role("releases"))]):
    path, name = releases.release_file(state_of(request), user, rid)
    return FileResponse(path, media_type="text/csv", filename=name)


@router.post("/services/match", tags=["referrals"], summary="Rank the directory's services for a "
             "person, with reasons (POST, so the person's details stay out of URLs and logs)")
def match_services(*, body: MatchIn, request: Request,
                   user: Annotated[User, Depends(api_role("services"))]) -> dict:
    return referrals.match_services(state_of(request), user, body.model_dump())


@router.post("/referrals/consents", tags=["referrals"], summary="Record that the person of a case "
             "agreed to be referred (to any service, or to one)")
def record_consent(*, body: ConsentIn, request: Request,
                   user: Annotated[User, Depends(api_role("refer"))]) -> dict:
    cid = referrals.record_consent(state_of(request), user, body.record_id, contributor=body.contributor,
                                   service_id=body.service_id, note=body.note)
    return {"consent_id": cid}


@router.post("/referrals", tags=["referrals"], summary="Refer a case to a service (refused without "
             "the person's recorded consent)")
def refer_case(*, body: ReferralIn, request: Request,
               user: Annotated[User, Depends(api_role("refer"))]) -> dict:
    return referrals.refer_case(state_of(request), user, body.record_id, body.service_id,
                                contributor=body.contributor, reason=body.reason, details=body.details)


@router.get("/referrals", tags=["referrals"], summary="Referrals of the cases this account may see")
def list_referrals(*, request: Request, limit: Limit = 200,
                   user: Annotated[User, Depends(api_role("refer"))]) -> dict:
    return {"referrals": referrals.list_referrals(state_of(request), user, limit=limit)}


@router.get("/dashboard", tags=["report"], summary="The hub report (disclosure-controlled)")
async def dashboard(*, request: Request,
                    user: Annotated[User, Depends(api_role("dashboard"))]) -> Response:
    board = request.app.state.dashboard
    d = board.cached()
    body = d.get("_json") if d is not None else None
    if body is None:
        body = await run_in_threadpool(_dashboard_json, board)
    return Response(body, media_type="application/json")


def _dashboard_json(board) -> bytes:
    d = board.get()
    if "_json" not in d:  # serialised once per computation of the report
        d["_json"] = json.dumps({"empty": d["empty"], "report": d["record"]},
                                ensure_ascii=False, default=str).encode("utf-8")
    return d["_json"]


@router.get("/users", tags=["users"])
def users(*, request: Request, user: Annotated[User, Depends(api_role("users"))]) -> list[dict]:
    return services.clean_rows(auth.list_users(state_of(request)))


@router.post("/users", tags=["users"], summary="Create an account (returns its TOTP secret "
             "once, for roles that need one)")
def add_user(*, body: UserIn, request: Request, user: Annotated[User, Depends(api_role("users"))]) -> dict:
    secret = auth.add_user(state_of(request), body.username, body.password, body.role,
                           contributor=body.contributor, actor=user.username,
                           new_contributor=body.new_contributor)
    return {"username": body.username.strip().lower(), "role": body.role,
            "totp_secret": secret,
            "totp_uri": auth.totp_uri(body.username, secret) if secret else None}


@router.patch("/users/{username}", tags=["users"])
def update_user(*, username: UserName, body: UserPatch, request: Request,
                user: Annotated[User, Depends(api_role("users"))]) -> dict:
    secret = auth.update_user(state_of(request), username, actor=user.username,
                              active=body.active, reset_totp=body.reset_totp,
                              password=body.password)
    return {"username": username, "totp_secret": secret,
            "totp_uri": auth.totp_uri(username, secret) if secret else None}
