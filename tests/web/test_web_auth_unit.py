"""Units of safelight.web.auth: password hashing, TOTP steps, the login limiter."""

from __future__ import annotations

import time

import pyotp
import pytest

from safelight.errors import UsageError
from safelight.web.auth import LoginLimiter, check_password, hash_password, totp_step


def test_password_hash_is_argon2id_and_verifies():
    h = hash_password("a long enough pass")
    assert h.startswith("$argon2id$") and "a long enough pass" not in h
    assert check_password(h, "a long enough pass")
    assert not check_password(h, "a long enough pas")
    assert not check_password(None, "anything at all")
    assert not check_password("not a hash", "anything at all")
    with pytest.raises(UsageError, match="12"):
        hash_password("short")


def test_totp_step_accepts_adjacent_steps_only():
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = time.time()
    assert totp_step(secret, totp.at(now)) == int(now // 30)
    assert totp_step(secret, totp.at(now - 30)) is not None
    assert totp_step(secret, totp.at(now - 120)) is None
    assert totp_step(secret, "12345") is None and totp_step(None, "123456") is None


def test_limiter_blocks_after_max_failures_and_forgets_after_the_window():
    lim = LoginLimiter(3, window_seconds=0.3)
    for _ in range(2):
        lim.fail("user:a", "addr:x")
    assert lim.blocked_for("user:a") == 0
    lim.fail("user:a", "addr:x")
    assert lim.blocked_for("user:a") > 0 and lim.blocked_for("addr:x") > 0
    assert lim.blocked_for("user:b") == 0
    time.sleep(0.35)
    assert lim.blocked_for("user:a", "addr:x") == 0


def test_totp_fresh_refuses_a_replayed_code():
    lim = LoginLimiter(3, 60)
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).now()
    assert lim.totp_fresh("u", secret, code)
    assert not lim.totp_fresh("u", secret, code)
    assert lim.totp_fresh("v", secret, code)  # per user
