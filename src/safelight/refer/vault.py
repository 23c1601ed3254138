"""Sealing the real location of a confidential service (AES-256-GCM).

Contract: :func:`seal` turns a location object (address, coordinates, ...) into a nonce and
ciphertext bound to its service and location ids (associated data), so a sealed blob cannot be
moved to another service; :func:`unseal` gives it back only with the same key, and raises
:class:`VaultError` for a wrong key or any tampering. The key is 32 random bytes in a file held by
the directory operator (hex, mode 0600); the hub stores only a key id (a hash prefix), never the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safelight.errors import KeyFileError


class VaultError(KeyFileError):
    """A key file is missing or malformed, or a sealed location does not open with the key."""


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never print the secret
        return f"Key(key_id={self.key_id!r})"


def _key_id(secret: bytes) -> str:
    return "k-" + hashlib.sha256(b"safelight-refer-key-id" + secret).hexdigest()[:16]


def new_key_file(path: str | Path) -> Key:
    """Write a fresh key to ``path`` (refused if the file exists) and return it."""
    path = Path(path)
    if path.exists():
        raise VaultError(f"{path}: a key file is already there; refusing to overwrite it — "
                         "move it away first if you really mean to replace the key")
    secret = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret.hex() + "\n")
    return Key(_key_id(secret), secret)


def load_key(path: str | Path) -> Key:
    """Read a key file written by :func:`new_key_file`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise VaultError(f"{path}: no key file here — create one with `safelight refer keygen {path}`") from None
    except UnicodeDecodeError:
        raise VaultError(f"{path}: not a refer key file (expected 64 hex digits; is it another "
                         "file, such as a directory export?)") from None
    except OSError as exc:
        raise VaultError(f"{path}: cannot read the key file ({exc.strerror or exc})") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise VaultError(f"{path}: not a refer key file (expected 64 hex digits)")
    return Key(_key_id(secret), secret)


def _aad(service_id: str, location_id: str) -> bytes:
    return json.dumps(["safelight-refer-location", service_id, location_id]).encode()


def seal(key: Key, service_id: str, location_id: str, location: dict[str, Any]) -> tuple[bytes, bytes]:
    """Encrypt ``location`` (a JSON-able dict) for (service_id, location_id); returns (nonce, ciphertext)."""
    nonce = secrets.token_bytes(12)
    plain = json.dumps(location, ensure_ascii=False, sort_keys=True).encode()
    return nonce, AESGCM(key.secret).encrypt(nonce, plain, _aad(service_id, location_id))


def unseal(key: Key, service_id: str, location_id: str, nonce: bytes, ciphertext: bytes,
           key_id: str | None = None) -> dict[str, Any]:
    """Decrypt a sealed location; wrong key, wrong ids or tampering raise :class:`VaultError`."""
    if key_id is not None and key_id != key.key_id:
        raise VaultError(f"service {service_id}: its location was sealed with key {key_id}, "
                         f"not with the given key {key.key_id} — use the operator's key file")
    try:
        plain = AESGCM(key.secret).decrypt(bytes(nonce), bytes(ciphertext), _aad(service_id, location_id))
    except InvalidTag:
        raise VaultError(f"service {service_id}: the sealed location does not open with this key "
                         "(wrong key, or the stored blob was altered)") from None
    return json.loads(plain)
