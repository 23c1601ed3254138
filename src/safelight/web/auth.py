"""Accounts, passwords, second factor, sessions, CSRF tokens and login rate limiting.

Contract:

* passwords are stored only as argon2id hashes (argon2-cffi); a login for an unknown user name
  spends the same hashing work as one for a known name;
* accounts of the roles in :data:`~safelight.web.roles.TOTP_ROLES` (every role but ``viewer``)
  must pass a TOTP code (RFC 6238, pyotp), each code once;
  ``contributor`` and ``caseworker`` accounts are bound to exactly one contributor id;
* a session id is 32 random bytes (``secrets``) given to the browser only; the hub stores its
  SHA-256, so a copy of the database does not hold usable sessions; a session ends after
  ``idle_minutes`` without use or ``session_hours`` in all;
* every session carries its own CSRF token, required on every state-changing request;
* ``login_max_failures`` failures per user name or per client address within the window block
  further attempts (HTTP 429) until the window passes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from safelight.errors import SafelightError, UsageError
from safelight.store.hub import now_utc
from safelight.web.roles import BOUND_ROLES, ROLES, TOTP_ROLES
from safelight.web.state import HubState

MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone " + secrets.token_hex(8))


class AuthError(SafelightError):
    """A login or session was refused (the message is safe to show)."""


@dataclass(frozen=True)
class User:
    """The signed-in account of a request."""

    username: str
    role: str
    contributor: str | None
    csrf_token: str

    def public(self) -> dict[str, str | None]:
        return {"username": self.username, "role": self.role, "contributor": self.contributor}


def hash_password(password: str) -> str:
    """The argon2 hash of a new password of at least :data:`MIN_PASSWORD` characters, not
    counting spaces at its ends (twelve spaces were accepted)."""
    if len(password.strip()) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters besides spaces "
                         "at its ends")
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Verify ``password`` against an argon2 hash (``None``: spend the same work, return False)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def totp_step(secret: str | None, code: str | None) -> int | None:
    """The time step at which ``code`` is the TOTP code of ``secret`` (the current step or an
    adjacent one, for clock drift); ``None`` if it is not a valid code."""
    if not secret or not code:
        return None
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            return int(at // totp.interval)
    return None


def totp_ok(secret: str | None, code: str | None) -> bool:
    """Whether ``code`` is a valid TOTP code of ``secret`` now (no replay check)."""
    return totp_step(secret, code) is not None


def totp_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="safelight")


def totp_qr(uri: str) -> str:
    """The ``otpauth://`` URI as a QR code (an SVG ``data:`` URI, drawn locally by segno) for an
    authenticator app to scan; the page allows ``data:`` images and nothing external."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


# ---- accounts

def add_user(state: HubState, username: str, password: str, role: str, *,
             contributor: str | None = None, actor: str = "cli",
             new_contributor: bool = False) -> str | None:
    """Create an account; returns the TOTP secret (``None`` for roles without TOTP).

    ``contributor`` must be registered on the hub, or ``new_contributor`` say that it is to
    be (one that has sent nothing yet): a typo registered silently showed in every
    contributor list. Raises :class:`UsageError` on a bad name, role, password or contributor
    binding.
    """
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise UsageError(f"user name {username!r}: use 2-63 lower-case letters, digits, '.', '_' "
                         "or '-', starting with a letter or digit")
    if role not in ROLES:
        raise UsageError(f"role {role!r} is unknown; choose one of {', '.join(ROLES)}")
    if (role in BOUND_ROLES) != bool(contributor):
        raise UsageError("a contributor or caseworker account needs --contributor (the contributor "
                         "id it acts for), and only those accounts take one")
    pw_hash = hash_password(password)
    secret = pyotp.random_base32() if role in TOTP_ROLES else None
    with state.write(data=False) as hub:
        if hub.con.execute("SELECT 1 FROM web_users WHERE username = ?", [username]).fetchone():
            raise UsageError(f"user {username!r} exists already; choose another name")
        if contributor:
            known = hub.con.execute("SELECT 1 FROM contributors WHERE name = ?",
                                    [contributor]).fetchone()
            if not known and not new_contributor:
                raise UsageError(f"the hub has no contributor named {contributor!r}; to "
                                 "register one that has sent nothing yet, set new_contributor "
                                 "(--new-contributor on the command line)")
            hub.ensure_contributor(contributor)
        hub.con.execute("INSERT INTO web_users VALUES (?, ?, ?, ?, ?, true, ?, ?, NULL)",
                        [username, role, contributor, pw_hash, secret, now_utc(), actor])
        hub.audit(actor, "web.user_add", f"user:{username}",
                  {"role": role, "contributor": contributor})
    return secret


def list_users(state: HubState) -> list[dict]:
    return state.rows("SELECT username, role, contributor, active, created_at, created_by, "
                      "last_login_at, totp_secret IS NOT NULL AS totp FROM web_users "
                      "ORDER BY username")


def update_user(state: HubState, username: str, *, actor: str, active: bool | None = None,
                reset_totp: bool = False, password: str | None = None) -> str | None:
    """Activate/deactivate an account, give it a new TOTP secret or password (audited).

    Deactivating, a new TOTP secret and a new password each end the account's sessions.
    Returns the new TOTP secret when one was made.
    """
    secret = None
    with state.write(data=False) as hub:
        row = hub.con.execute("SELECT role FROM web_users WHERE username = ?",
                              [username]).fetchone()
        if row is None:
            raise UsageError(f"no user {username!r}")
        if active is False and row[0] == "admin" and hub.con.execute(
                "SELECT count(*) FROM web_users WHERE role = 'admin' AND active AND username <> ?",
                [username]).fetchone()[0] == 0:
            # nobody could manage accounts any more (a trial locked the only admin out)
            raise UsageError(f"{username} is the only active administrator: make another "
                             "administrator first")
        changes: dict[str, object] = {}
        _forget_user(state, username)
        if active is not None:
            hub.con.execute("UPDATE web_users SET active = ? WHERE username = ?", [active, username])
            changes["active"] = active
            if not active:
                hub.con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
        if reset_totp and row[0] in TOTP_ROLES:
            secret = pyotp.random_base32()
            hub.con.execute("UPDATE web_users SET totp_secret = ? WHERE username = ?",
                            [secret, username])
            # a new second factor is issued when the old one may be in other hands
            hub.con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
            changes["totp_reset"] = True
        if password is not None:
            hub.con.execute("UPDATE web_users SET password_hash = ? WHERE username = ?",
                            [hash_password(password), username])
            hub.con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
            changes["password_reset"] = True
        hub.audit(actor, "web.user_update", f"user:{username}", changes)
    return secret


def change_own_password(state: HubState, limiter: LoginLimiter, user: User, current: str,
                        new: str, client: str) -> None:
    """A signed-in user replaces its own password (audited); every session of the account ends.

    The current password is checked like a sign-in (same rate limit and counter, failures
    audited), so a stolen session alone cannot change it; wrong guesses count towards the
    account's sign-in limit, as failed sign-ins do. Raises :class:`AuthError` when rate-limited,
    :class:`UsageError` when the current password is wrong or the new one is too short or the same.
    """
    try:
        authenticate(state, limiter, user.username, current, client, actor=user.username)
    except AuthError as exc:
        if getattr(exc, "retry_after", None):
            raise
        raise UsageError("the current password is wrong") from None
    if new == current:
        raise UsageError("the new password must differ from the current one")
    hash_password(new)  # refuses a short password before anything changes
    update_user(state, user.username, actor=user.username, password=new)


def _forget_user(state: HubState, username: str) -> None:
    """Drop the cached sessions of ``username`` (its account changed)."""
    with state.lock:
        for digest in [d for d, r in state.sessions.items() if r["username"] == username]:
            del state.sessions[digest]


# ---- rate limiting

class LoginLimiter:
    """Failed logins per key (user name, client address) in a sliding window, and the last
    TOTP step each user spent; in memory."""

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max = max_failures
        self.window = window_seconds
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._last_step: dict[str, int] = {}
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked_for(self, *keys: str) -> float:
        """Seconds until a login may be tried again for these keys (0: allowed)."""
        now = time.monotonic()
        with self._lock:
            waits = [q[0] + self.window - now for k in keys
                     if len(q := self._trim(k, now)) >= self.max]
        return max(waits, default=0.0)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._trim(k, now).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)

    def totp_fresh(self, username: str, secret: str | None, code: str | None) -> bool:
        """A valid TOTP code of ``secret`` not used before by ``username`` (replay protection:
        one process serves the hub, so this memory is the whole truth)."""
        step = totp_step(secret, code)
        if step is None:
            return False
        with self._lock:
            if self._last_step.get(username, -1) >= step:
                return False
            self._last_step[username] = step
        return True


# ---- sessions

def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def authenticate(state: HubState, limiter: LoginLimiter, username: str, password: str,
                 client: str, *, actor: str = "-") -> dict:
    """Check a user name and password; returns the account row. Audits failures.

    Raises :class:`AuthError` (``retry_after`` set when rate-limited). At a sign-in nobody is
    known to act until the password is right: the audit entry's ``actor`` is ``-`` (a signed-in
    user checking its own password passes its name), and the name typed is kept (as ``user``)
    only when it is an account's — a password typed into the name field is never kept.
    """
    username = (username or "").strip().lower()
    keys = (f"user:{username}", f"addr:{client}")
    wait = limiter.blocked_for(*keys)
    if wait > 0:
        state.audit(actor, "web.login_blocked", f"addr:{client}",
                    {"user": _account_named(state, username)})
        err = AuthError(f"too many failed logins; try again in {int(wait) + 1} seconds")
        err.retry_after = int(wait) + 1  # type: ignore[attr-defined]
        raise err
    row = state.one("SELECT * FROM web_users WHERE username = ?", [username])
    ok = check_password(row["password_hash"] if row else None, password or "")
    if not ok or not row["active"]:
        limiter.fail(*keys)
        state.audit(actor, "web.login_failed", f"addr:{client}",
                    {"reason": "inactive" if ok else "password",
                     "user": row["username"] if row else None})
        raise AuthError("user name or password is wrong")
    return row


def _account_named(state: HubState, username: str) -> str | None:
    """``username`` if an account of that name exists, else ``None``: what the audit chain keeps
    of the name typed at a refused sign-in."""
    row = state.one("SELECT username FROM web_users WHERE username = ?", [username])
    return row["username"] if row else None


def start_session(state: HubState, username: str, stage: str) -> tuple[str, str]:
    """A new session for ``username`` at ``stage`` ('totp' or 'full'); returns (id, csrf)."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = now_utc()
    with state.write(data=False) as hub:
        hub.con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?)",
                        [_digest(sid), username, csrf, stage, now, now])
        if stage == "full":
            hub.con.execute("UPDATE web_users SET last_login_at = ? WHERE username = ?",
                            [now, username])
            hub.audit(username, "web.login", f"user:{username}", None)
    return sid, csrf


def complete_totp(state: HubState, limiter: LoginLimiter, session_id: str, code: str,
                  client: str) -> tuple[str, str]:
    """Second step of a login: a 'totp' session and a valid code give a new 'full' session."""
    sess = state.one("SELECT s.username, s.stage, s.created_at, u.totp_secret FROM web_sessions s "
                     "JOIN web_users u USING (username) WHERE s.session_hash = ? AND u.active",
                     [_digest(session_id)])
    if sess is None or sess["stage"] != "totp" or \
            now_utc() - sess["created_at"] > dt.timedelta(minutes=5):
        raise AuthError("the login has expired; sign in again")
    keys = (f"user:{sess['username']}", f"addr:{client}")
    if limiter.blocked_for(*keys) > 0:
        raise AuthError("too many failed logins; try again later")
    if not limiter.totp_fresh(sess["username"], sess["totp_secret"], code):
        limiter.fail(*keys)
        state.audit(sess["username"], "web.login_failed", f"addr:{client}", {"reason": "totp"})
        raise AuthError("the code is wrong or has expired")
    end_session(state, session_id)
    limiter.clear(keys[0])
    return start_session(state, sess["username"], "full")


def login(state: HubState, limiter: LoginLimiter, username: str, password: str,
          totp: str | None, client: str) -> tuple[str, str]:
    """One-step login (the JSON API): password and, for privileged roles, the TOTP code."""
    row = authenticate(state, limiter, username, password, client)
    if row["role"] in TOTP_ROLES and not limiter.totp_fresh(row["username"], row["totp_secret"],
                                                              totp):
        limiter.fail(f"user:{row['username']}", f"addr:{client}")
        state.audit(row["username"], "web.login_failed", f"addr:{client}", {"reason": "totp"})
        raise AuthError("this account needs a valid TOTP code")
    limiter.clear(f"user:{row['username']}")
    return start_session(state, row["username"], "full")


SLOW = object()  # cached_session_user: the answer needs the hub (use session_user)


def cached_session_user(state: HubState, session_id: str | None) -> User | None | object:
    """:func:`session_user` from memory only, without waiting for the hub's lock (for the
    event loop): the user, ``None`` (no such live session), or :data:`SLOW` when the answer
    needs the hub (not cached, expired, or ``last_seen_at`` due to be written)."""
    if not session_id:
        return None
    row = state.sessions.get(_digest(session_id))
    if row is None:
        return SLOW
    if row["stage"] != "full" or not row["active"]:
        return None
    s = state.settings
    now = now_utc()
    if (now - row["last_seen_at"] > dt.timedelta(minutes=s.idle_minutes)
            or now - row["created_at"] > dt.timedelta(hours=s.session_hours)
            or now - row["written_at"] > dt.timedelta(seconds=60)):
        return SLOW
    row["last_seen_at"] = now
    return User(row["username"], row["role"], row["contributor"], row["csrf_token"])


def session_user(state: HubState, session_id: str | None) -> User | None:
    """The user of a full, live session (``None`` if absent, pending TOTP, idle or expired).

    Sessions are read from the hub once and then served from memory
    (:attr:`HubState.sessions`); ``last_seen_at`` is written back at most once a minute, so
    reads do not turn into writes.
    """
    if not session_id:
        return None
    s = state.settings
    digest = _digest(session_id)
    with state.lock:
        row = state.sessions.get(digest)
        if row is None:
            row = state.one("SELECT s.username, s.csrf_token, s.stage, s.created_at, "
                            "s.last_seen_at, u.role, u.contributor, u.active FROM web_sessions s "
                            "JOIN web_users u USING (username) WHERE s.session_hash = ?", [digest])
            if row is None:
                return None
            row["written_at"] = row["last_seen_at"]
            state.sessions[digest] = row
        if row["stage"] != "full" or not row["active"]:
            return None
        now = now_utc()
        if (now - row["last_seen_at"] > dt.timedelta(minutes=s.idle_minutes)
                or now - row["created_at"] > dt.timedelta(hours=s.session_hours)):
            state.sessions.pop(digest, None)
            with state.write(data=False) as hub:
                hub.con.execute("DELETE FROM web_sessions WHERE session_hash = ?", [digest])
            return None
        row["last_seen_at"] = now
        if now - row["written_at"] > dt.timedelta(seconds=60):
            row["written_at"] = now
            with state.write(data=False) as hub:
                hub.con.execute("UPDATE web_sessions SET last_seen_at = ? WHERE session_hash = ?",
                                [now, digest])
    return User(row["username"], row["role"], row["contributor"], row["csrf_token"])


def end_session(state: HubState, session_id: str | None, *, actor: str | None = None) -> None:
    if not session_id:
        return
    state.sessions.pop(_digest(session_id), None)
    with state.write(data=False) as hub:
        hub.con.execute("DELETE FROM web_sessions WHERE session_hash = ?", [_digest(session_id)])
        if actor:
            hub.audit(actor, "web.logout", f"user:{actor}", None)


def csrf_ok(user: User, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(user.csrf_token, token or "")
