"""Keyed, hardened Bloom-filter encodings of identity fields — runs at the contributor.

Contract
--------
:func:`encode_table` takes an Arrow table with the identity columns of
:mod:`safelight.link.prepare` (``record_id``, ``given_name``, ``family_name``, ``full_name``,
``birth_year``/``birth_month``/``birth_day``, ``sex``, ``nationality``, ``phone`` (+
``phone_region``), ``document_number``, ``locality`` and the optional address columns
``street_number``, ``address_line``, ``postcode``, ``region``) and a secret key, and returns an
:class:`Encoded` table that holds **no clear identifier**: per field one Bloom filter (fixed-width
binary, ``bits/8`` bytes, null when the value is missing), per blocking rule one keyed 64-bit
blocking key (null when the rule does not apply), the record id and the consent flag.
:func:`write_package` writes it as a *contribution package*: a directory with ``records.parquet``
and ``manifest.json`` (schema version, encoding settings without the key, a key fingerprint,
counts). :mod:`safelight.link.encoded` links packages made with the same key.

Encoding (see ``docs/pprl.md`` for the justification and the measured attack):

* Values are normalised first with :mod:`safelight.identity.normalise` (match keys, so that the
  transliterations of one name meet), then cut into tokens: padded bigrams of names, phones,
  document numbers and places; structured tokens of the birth date (year, month, day, year-month,
  month-day, the unordered day/month pair); whole-value tokens for sex, nationality and region.
* **Keyed random hashing**: each token sets ``k`` bit positions taken from HMAC-SHA512 under a
  sub-key of the contributor key for its field family (given and family names share one, so a
  name swap is still visible). There is no double hashing for a cryptanalysis to exploit and
  without the key nobody can compute which bits a known name sets.
* **Record-level random bit flipping** (BLIP, randomised response): every bit of every filter is
  flipped with probability ``flip_probability`` using fresh randomness per record, so two records
  with the same name carry *different* filters. This defeats counting identical encodings (the
  frequency attack) and blurs the bit co-occurrence patterns that pattern-mining attacks read.
* **Keyed blocking keys**: keyed BLAKE2b (a MAC) of the normalised values of each rule,
  64 bits, under a sub-key per key space. Never an unkeyed hash, which a dictionary of names
  and dates reverses. The rules are the clear rules *narrowed* by their second key, written as
  further keys the hub joins on equality (see :data:`BLOCKING_RULES`). No two keys relate
  values the hub could order by themselves (a year is narrowed by one two-year window, never
  by "year" and "year + 1"), and no record holds one value in two crosswise keys
  (:data:`CROSSWISE_KEYS`). Statistically the hub can still order its same-year classes at
  scale — from phone or document keys, or from its own links — and so learn birth years
  (docs/pprl.md, "Birth years at the hub").

Costs are per distinct value: a filter is built once per distinct (salt, value) and gathered
in packed form, BLIP flips are drawn as geometric gaps (only the flipped bits cost anything),
and a blocking key is hashed once per distinct combination of its values.

The key is only read here. The hub receives the key's fingerprint
(HMAC of a fixed label under the key — it identifies the key and reveals nothing of it), which
:mod:`safelight.link.encoded` uses to refuse packages made with different keys.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from safelight.errors import KeyFileError
from safelight.identity.idcheck import check_ids_hold_no_identity
from safelight.identity.mapping import warn_unread_phones
from safelight.identity.normalise import (
    birth_date_parts,
    clear_caches,
    code_key,
    digits_key,
    document_key,
    family_key,
    given_group,
    given_key,
    locality_key,
    map_distinct,
    nationality_key,
    phones_e164,
    require_names,
    sex_key,
    split_full_names,
    unread_phones,
)

__all__ = [
    "BLOCKING_RULES",
    "CROSSWISE_KEYS",
    "DEFAULT_FIELDS",
    "FORMAT_VERSION",
    "Encoded",
    "EncodingError",
    "EncodingSettings",
    "FieldSpec",
    "encode_table",
    "fingerprints_in",
    "key_fingerprint",
    "load_key",
    "new_key",
    "write_package",
]

log = logging.getLogger("safelight.identity.encode")

#: 2: narrowed blocking keys; 3: two-year windows, no "year + 1" keys; 4: two {day, month} keys
#: (family name + given initial, both names, any year); 5: those two withdrawn — meeting across
#: the two-year windows they let the hub order its same-year groups into a birth-year chain
#: (docs/pprl.md, "Withdrawn: format v4"). v3 and v5 hold the same keys; v4 is refused.
#: 6: sex and nationality filters encode the standard's codes (``female``, ISO alpha-3:
#: :func:`~safelight.identity.normalise.sex_key`, :func:`~safelight.identity.normalise.nationality_key`)
#: instead of the upper-cased text; the blocking keys are those of v5
#: (:data:`safelight.link.encoded.CODES_VERSION`).
#: 7: the same filters and keys of other normalised values: fillers are missing (documents
#: without a digit or of one character, phones of one repeated digit or a run, 1900-01-01 and
#: earlier births), a document's Cyrillic letters are read (``КН`` = ``KH``; they were
#: dropped), name groups are no longer joined through a short form of two names (Ela, Titi),
#: and a full name with a patronymic is read in the East Slavic order. A v6 package links
#: beside v7 ones; only such values compare differently.
#: 8: the same filters and keys of other normalised names: Serbian, Macedonian and Belarusian
#: Cyrillic letters are read (they were dropped), Arabic Abd al- names written joined and
#: Persian and Urdu letters meet the name tables, and new name groups (Олег / Oleg, Гліб / Gleb,
#: Георгій / Georgy, Greek names) give those names another group key. A v7 package links
#: beside v8 ones; only such names compare differently (ask contributors to re-encode).
#: 9: the same filters and keys of other normalised names: a given name that opens with an
#: Arabic article is keyed without it, as a family name is (al-Fassi | Haleema meets Haleema |
#: al-Fassi); Thị (and Văn with its breve) are left out of Vietnamese names and after a middle
#: name the name group is the last word's (Thị Lan, Lan); ё is е, and Polish and German
#: spellings of х, лю and -еев meet the others (Charczenko, Hawryluk, Aleksiejew). A v8 package
#: links beside v9 ones; only such names compare differently.
FORMAT_VERSION = 9
KEY_MIN_BYTES = 32
MANIFEST = "manifest.json"
RECORDS = "records.parquet"


class EncodingError(KeyFileError):
    """A key file, encoding setting or contribution package cannot be used (exit code 7)."""


# ---------------------------------------------------------------------------------------------
# Keys


def new_key(path: Path) -> None:
    """Write a new random key (32 bytes, hex) to ``path``, readable by its owner only."""
    path = Path(path)
    if path.exists():
        raise EncodingError(f"{path}: exists — refusing to overwrite a key; choose a new path")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(KEY_MIN_BYTES) + "\n")


#: a one-line key of which at least this share of characters are hex digits is keygen's
#: format (a damaged one when not all are); random text of other letters and digits has ~35%
_HEX_SHARE = 0.9
#: fewer distinct digits than this in a hex key: not a random key (64 random hex digits hold
#: 14 or more distinct ones but with a chance under 1e-6)
_HEX_VARIETY = 10


def _text_of(raw: bytes) -> str | None:
    """``raw`` as text when it is printable UTF-8, or UTF-16 with its byte-order mark (as
    Windows editors and shells save text; a UTF-8 byte-order mark is dropped too), blanks and
    line breaks allowed; else None: a file of random key bytes is practically never that (32
    random bytes are printable UTF-8 with probability < 10⁻¹⁰)."""
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\r\n\t" for c in text) else None


def load_key(path: Path) -> bytes:
    """The key in ``path``: hex text (keygen's format: one line of an even number, 64 or more,
    of hex digits) or raw bytes, at least 32 bytes. A hex key that lost a digit or had one
    changed into another character (a line of mostly hex digits, :data:`_HEX_SHARE`) and a text
    file of several words or lines (a data file given as ``--key``) are refused, never used as
    raw bytes. (A hex digit changed into another hex digit cannot be told from a key: the
    fingerprint then differs from the other contributors' and the hub refuses the package.)"""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EncodingError(f"{path}: cannot read the key file ({exc.strerror}) — give the path "
                            "of the key shared among contributors") from exc
    if not raw.strip():
        raise EncodingError(f"{path}: the key file is empty — give the key file made by "
                            "`safelight identity keygen` (copy it again if it was cut)")
    text = _text_of(raw)
    words = text.split() if text is not None else []
    if text is not None and len(words) != 1:
        raise EncodingError(f"{path}: not a key file (text of {len(words)} words or lines, not "
                            "one line of hex digits — is it a data file?) — give the key file "
                            "made by `safelight identity keygen`")
    hexes = sum(c in string.hexdigits for c in words[0]) if words else 0
    if words and hexes >= _HEX_SHARE * len(words[0]):  # keygen's format, maybe damaged
        if hexes < len(words[0]) or len(words[0]) % 2:
            raise EncodingError(f"{path}: the key is damaged: keygen's keys are an even number "
                                f"of hex digits (0-9, a-f); this one holds {len(words[0])} "
                                "characters, not all hex digits or one too few or too many — "
                                "copy the key file again from the contributor who made it")
        key = bytes.fromhex(words[0])
        guessable = len(set(words[0].lower())) < _HEX_VARIETY
    else:  # raw bytes (one line of other text too, as read by earlier versions)
        key = raw
        guessable = text is not None
    if len(key) < KEY_MIN_BYTES:
        raise EncodingError(f"{path}: the key has {len(key)} bytes, at least {KEY_MIN_BYTES} are "
                            "needed — create one with `safelight identity keygen`")
    if guessable:
        log.warning("%s: the key is %s, not a random key of `safelight identity keygen`: "
                    "whoever holds a package can test guesses of it offline (its key "
                    "fingerprint checks each), and with the key reverse the encodings — make "
                    "a new key with `safelight identity keygen` and share that", path,
                    "text" if text is not None and hexes < _HEX_SHARE * len(words[0])
                    else "hex digits of little variety")
    mode = path.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o077:
        log.warning("%s: the key file can be read by other users of this machine (mode %o); "
                    "make it the owner's alone: chmod 600 %s", path, mode, path)
    return key


def fingerprints_in(raw: bytes) -> set[str]:
    """The key fingerprints the bytes of a file would give if it were a key file, read every
    way :func:`load_key` may read one (hex text, raw bytes) and without its checks — to find
    a key where it must not be (beside a package: :mod:`safelight.link.encoded`)."""
    found = {key_fingerprint(raw)}
    text = _text_of(raw)
    if text is not None:
        word = text.strip()
        found.add(key_fingerprint(word.encode()))
        if word and all(c in string.hexdigits for c in word) and not len(word) % 2:
            found.add(key_fingerprint(bytes.fromhex(word)))
    return found


def key_fingerprint(key: bytes) -> str:
    """16 hex digits identifying ``key``: HMAC-SHA256 of a fixed label under the key (a
    pseudo-random function of the key, so it reveals nothing about it)."""
    return hmac.new(key, b"safelight/pprl/key-fingerprint/v1", hashlib.sha256).hexdigest()[:16]


def _subkey(key: bytes, label: str) -> bytes:
    return hmac.new(key, b"safelight/pprl/subkey/" + label.encode(), hashlib.sha256).digest()


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class FieldSpec:
    """One Bloom-filter field: ``kind`` is ``text`` (padded bigrams), ``date`` (date-part
    tokens) or ``token`` (the whole value); ``hash_space`` names the sub-key (fields sharing
    it can be compared crosswise); ``k`` bit positions per token (at most 32)."""

    name: str
    kind: str
    bits: int
    k: int
    hash_space: str = ""

    @property
    def space(self) -> str:
        return self.hash_space or self.name


DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("given_name", "text", 1024, 20, "name"),
    FieldSpec("given_group", "token", 128, 16, "name_group"),
    FieldSpec("family_name", "text", 1024, 20, "name"),
    FieldSpec("birth_date", "date", 512, 16),
    FieldSpec("sex", "token", 64, 8),
    FieldSpec("nationality", "token", 64, 8),
    FieldSpec("phone", "text", 512, 12),
    FieldSpec("document", "text", 512, 12),
    FieldSpec("locality", "text", 512, 12),
    FieldSpec("street_number", "text", 256, 10),
    FieldSpec("address_line", "text", 1024, 12),
    FieldSpec("postcode", "text", 256, 10),
    FieldSpec("region", "token", 64, 8),
)  # fmt: skip


@dataclass(frozen=True)
class EncodingSettings:
    """How a contribution is encoded (saved, without the key, in the package manifest).

    ``flip_probability``: BLIP probability of flipping each bit (0 turns the hardening off;
    for measurements only); it is public — the hub uses it to correct Dice for the noise.
    ``seed``: seed for the flips — None (the default) draws them from the operating system;
    a fixed seed is for tests and benchmarks only.
    """

    fields: tuple[FieldSpec, ...] = DEFAULT_FIELDS
    flip_probability: float = 0.01
    name_salt: str = "none"
    seed: int | None = None

    def __post_init__(self) -> None:
        for f in self.fields:
            if f.bits % 64 or f.k < 1 or f.k > 32 or f.kind not in ("text", "date", "token"):
                raise EncodingError(f"encoding field {f.name}: bits must be a multiple of 64, "
                                    f"1 ≤ k ≤ 32 and kind text/date/token (got {f})")
        if not 0.0 <= self.flip_probability < 0.5:
            raise EncodingError("flip_probability must be in [0, 0.5)")
        if self.name_salt not in NAME_SALTS:
            raise EncodingError(f"name_salt must be one of {sorted(NAME_SALTS)} "
                                f"(got {self.name_salt!r})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (the seed is recorded only as whether one was set)."""
        return {"fields": [asdict(f) for f in self.fields],
                "flip_probability": self.flip_probability, "name_salt": self.name_salt,
                "seeded": self.seed is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncodingSettings:
        """Inverse of :meth:`to_dict` (without the seed)."""
        return cls(tuple(FieldSpec(**f) for f in data["fields"]),
                   float(data["flip_probability"]), str(data.get("name_salt", "none")))


# ---------------------------------------------------------------------------------------------
# Normalised values and tokens


def _col(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.nulls(table.num_rows, pa.string())


def _str(table: pa.Table, name: str) -> pa.Array:
    return _col(table, name).cast(pa.string())


def _ints(table: pa.Table, name: str) -> np.ndarray:
    a = _col(table, name)
    if pa.types.is_null(a.type) or a.null_count == len(a):
        return np.full(len(a), -1, dtype=np.int32)
    return a.cast(pa.int32()).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)


@dataclass
class _Keys:
    """Normalised keys per record (object arrays of str/None; ints with -1 for missing)."""

    given: np.ndarray
    group: np.ndarray
    family: np.ndarray
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)  # other fields
    names: tuple[np.ndarray, np.ndarray] = ()  # the given and family names as read


def _keys(table: pa.Table) -> _Keys:
    given, family = split_full_names(_str(table, "given_name"), _str(table, "family_name"),
                                     _str(table, "full_name"))
    require_names(given, family)
    year, month, day = birth_date_parts(_ints(table, "birth_year"), _ints(table, "birth_month"),
                                        _ints(table, "birth_day"))
    month[(month < 1) | (month > 12)] = -1
    day[(day < 1) | (day > 31)] = -1
    return _Keys(
        given=map_distinct(given, given_key),
        group=map_distinct(given, given_group),
        family=map_distinct(family, family_key),
        year=year,
        month=month,
        day=day,
        values={
            "sex": map_distinct(_str(table, "sex"), sex_key),
            "nationality": map_distinct(_str(table, "nationality"), nationality_key),
            "phone": _read_phones(table),
            "document": map_distinct(_str(table, "document_number"), document_key),
            "locality": map_distinct(_str(table, "locality"), locality_key),
            "street_number": map_distinct(_str(table, "street_number"), digits_key),
            "address_line": map_distinct(_str(table, "address_line"), locality_key),
            "postcode": map_distinct(_str(table, "postcode"), digits_key),
            "region": map_distinct(_str(table, "region"), code_key),
        },
        names=(given, family),
    )


def _read_phones(table: pa.Table) -> np.ndarray:
    """E.164 of the table's phones, with a warning that counts the values not read."""
    raw = _str(table, "phone")
    e164 = phones_e164(raw, _str(table, "phone_region"))
    warn_unread_phones(unread_phones(raw, e164))
    return e164


#: salting of the name filters by a stable attribute: salt name → the salt of a birth year
#: (``?`` when the year is missing). "decade": 1980s; "year": the year; "none": no salt.
NAME_SALTS: dict[str, Callable[[int], str]] = {
    "none": lambda y: "",
    "decade": lambda y: f"{y // 10}x" if y >= 0 else "?",
    "year": lambda y: str(y) if y >= 0 else "?",
}
#: the filters that carry a name and so are salted
SALTED_FIELDS: frozenset[str] = frozenset({"given_name", "given_group", "family_name"})


def _salts(k: _Keys, how: str) -> np.ndarray | None:
    if how == "none":
        return None
    fn = NAME_SALTS[how]
    years, inverse = np.unique(k.year, return_inverse=True)
    return np.array([fn(int(y)) for y in years], dtype=object)[inverse]


def _bigrams(value: str) -> list[str]:
    s = f"_{value}_"
    return [s[i:i + 2] for i in range(len(s) - 1)]


def _date_tokens(y: int, m: int, d: int) -> tuple[str, ...] | None:
    """Tokens of one birth date (None when the year is missing); the placeholder 01-01 keeps
    only the year and a marker."""
    if y < 0:
        return None
    toks = [f"y{y}", f"y{y}#2", f"y{y}#3", f"y{y // 10}x"]  # the year weighs thrice
    if m > 0 and d > 0 and not (m == 1 and d == 1):
        lo, hi = sorted((m, d))
        toks += [f"m{m}", f"d{d}", f"ym{y}-{m}", f"md{m}-{d}", f"ymd{y}-{m}-{d}",
                 f"pair{lo}-{hi}"]
    elif m > 0 and d > 0:
        toks.append("jan1")
    elif m > 0:
        toks += [f"m{m}", f"ym{y}-{m}"]
    return tuple(toks)


def _date_token_sets(k: _Keys) -> np.ndarray:
    """Tokens of each birth date (see :func:`_date_tokens`), computed once per distinct date."""
    triples, inverse = np.unique(np.stack([k.year, k.month, k.day], axis=1), axis=0,
                                 return_inverse=True)
    uniq = np.empty(len(triples), dtype=object)
    uniq[:] = [_date_tokens(int(y), int(m), int(d)) for y, m, d in triples.tolist()]
    return uniq[inverse.reshape(-1)] if len(triples) else np.empty(0, dtype=object)


def _field_values(spec: FieldSpec, k: _Keys, dates: np.ndarray) -> np.ndarray:
    if spec.name == "given_name":
        return k.given
    if spec.name == "given_group":
        return k.group
    if spec.name == "family_name":
        return k.family
    if spec.name == "birth_date":
        return dates
    if spec.name in k.values:
        return k.values[spec.name]
    raise EncodingError(f"encoding field {spec.name}: unknown field — use one of the names in "
                        "safelight.identity.encode.DEFAULT_FIELDS")


def _tokens(spec: FieldSpec, value: Any) -> list[str]:
    if spec.kind == "text":
        return _bigrams(value)
    if spec.kind == "date":
        return list(value)
    return [str(value)]


def _positions(subkey: bytes, token: str, k: int, bits: int) -> np.ndarray:
    digest = hmac.digest(subkey, token.encode("utf-8"), "sha512")
    return np.frombuffer(digest, dtype="<u2")[:k].astype(np.int64) % bits


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(int64 codes, distinct values) of an object array of strings (None → -1)."""
    enc = pa.array(values.tolist(), pa.string()).dictionary_encode()
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def _filters(spec: FieldSpec, values: np.ndarray, key: bytes, salts: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(packed uint8 matrix (n, bits/8) of the clean filters, little bit order; present
    mask); built once per distinct (salt, value) and gathered. A salt is hashed with every
    token, so the same value under two salts sets unrelated bits."""
    subkey = _subkey(key, "field/" + spec.space)
    present = ~np.equal(values, None)
    if spec.kind == "date":  # tuples: factorise through their text
        values = np.array(["\x1e".join(v) if v is not None else None for v in values.tolist()]
                          if len(values) else [], dtype=object)
    codes, uniq_values = _factorize(values)
    if salts is not None:
        scodes, uniq_salts = _factorize(salts)
        pairs, inverse = np.unique(np.stack([scodes, codes], axis=1)[present], axis=0,
                                   return_inverse=True)
        combos = [(uniq_salts[s], uniq_values[v]) for s, v in pairs.tolist()]
        codes = np.full(len(values), -1, dtype=np.int64)
        codes[present] = inverse.reshape(-1)
    else:
        combos = [("", v) for v in uniq_values]
    token_ids: dict[str, int] = {}
    rows: list[int] = []
    ids: list[int] = []
    for row, (salt, value) in enumerate(combos):
        toks = value.split("\x1e") if spec.kind == "date" else _tokens(spec, value)
        for tok in toks:
            tok = f"{salt}\x1f{tok}" if salt else tok
            ids.append(token_ids.setdefault(tok, len(token_ids)))
            rows.append(row)
    table = np.zeros((max(len(combos), 1), spec.bits), dtype=bool)
    if token_ids:
        positions = np.stack([_positions(subkey, tok, spec.k, spec.bits) for tok in token_ids])
        table[np.array(rows)[:, None], positions[np.array(ids)]] = True
    packed = np.packbits(table, axis=1, bitorder="little")
    out = packed[np.maximum(codes, 0)]
    out[~present] = 0
    return out, present


def _flip(packed: np.ndarray, probability: float, rng: np.random.Generator) -> np.ndarray:
    """BLIP on packed filters: each bit flipped independently with ``probability`` (fresh per
    record). The flipped positions are an exact Bernoulli process drawn as geometric gaps, so
    only the ~``probability`` share of bits that flip costs anything."""
    if probability <= 0 or packed.size == 0:
        return packed
    total = packed.size * 8
    flat = packed.reshape(-1)
    start = -1
    while True:
        expected = int((total - start) * probability * 1.05) + 64
        pos = start + np.cumsum(rng.geometric(probability, size=expected))
        done = pos[-1] >= total
        pos = pos[pos < total]
        if len(pos):
            byte = pos >> 3
            mask = np.left_shift(np.uint8(1), (pos & 7).astype(np.uint8))
            heads = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            flat[byte[heads]] ^= np.bitwise_or.reduceat(mask, heads)
            start = int(pos[-1])
        if done:
            return packed


# ---------------------------------------------------------------------------------------------
# Blocking keys
#
# Each rule combines two or more attributes (never a name alone) and is keyed: BLAKE2b in its
# keyed (MAC) mode under a per-space sub-key of the contributor key, 64 bits. The rules mirror the clear
# ones of :mod:`safelight.link.blocking`, including their *narrowing* second keys, as
# equalities the hub can join on:
#
# * ``<rule>`` — the rule's own key (e.g. family name + birth year), for every record it
#   applies to. The hub joins a full column against an ``<rule>_open`` column and, for the
#   EM training pairs only (:data:`safelight.link.pprl.TRAINING_KEYS`), some of them with
#   themselves (full date, alone or with an initial; sorted names, alone or with the
#   locality; family + year);
# * narrowed keys — the rule's key plus the second key of the clear rule: the other name's
#   initial, the unordered {day, month} pair, or the two-year window ``year // 2`` (the clear
#   rules accept a year off by one; the window keeps half of those pairs). Each record has one
#   window key per rule, in one key space: a key for "year + 1" next to "year" would let the
#   hub chain records that are one year apart onto one birth-year axis;
# * ``<rule>_open`` — the rule's key for records the second key cannot narrow (that field is
#   missing), in the space of ``<rule>``: the hub joins it against the full column, as the
#   clear rules let a missing second key pass.
#
# Which ``_open`` keys a record has shows the hub which of its fields are missing (a name, a
# year, a full real date — a 1 January placeholder counts as missing), as the presence of its
# filters does. Crosswise pairs of keys (:data:`CROSSWISE_KEYS`) never hold one value twice in
# a record: that would tell the hub that both names start alike or are the same.


def _initial(values: np.ndarray) -> np.ndarray:
    return np.array([v[:1] if v else None for v in values.tolist()], dtype=object)


def _prefix(values: np.ndarray, n: int) -> np.ndarray:
    return np.array([v[:n] if v else None for v in values.tolist()], dtype=object)


@dataclass
class _Parts:
    """Per-record arrays the blocking rules combine (object arrays with None, or int64 with
    -1 for missing)."""

    arrays: dict[str, np.ndarray]

    def has(self, name: str) -> np.ndarray:
        a = self.arrays[name]
        return a >= 0 if a.dtype != object else ~np.equal(a, None)


def _parts(k: _Keys) -> _Parts:
    real = (k.year >= 0) & (k.month > 0) & (k.day > 0) & ~((k.month == 1) & (k.day == 1))
    lo = np.where(real, np.minimum(k.month, k.day), -1).astype(np.int64)
    hi = np.where(real, np.maximum(k.month, k.day), -1).astype(np.int64)
    both = ~np.equal(k.given, None) & ~np.equal(k.family, None)
    g = np.where(both, k.given, None)
    f = np.where(both, k.family, None)
    name_lo = np.array([min(x, y) if x else None for x, y in zip(g.tolist(), f.tolist(),
                                                                  strict=True)], dtype=object)
    name_hi = np.array([max(x, y) if x else None for x, y in zip(g.tolist(), f.tolist(),
                                                                  strict=True)], dtype=object)
    year = k.year.astype(np.int64)
    v = k.values
    return _Parts({
        "given": k.given, "group": k.group, "family": k.family,
        "gi": _initial(k.given), "fi": _initial(k.family),
        "g3": _prefix(k.given, 3), "f3": _prefix(k.family, 3),
        "name_lo": name_lo, "name_hi": name_hi,
        "year": year, "year2": np.where(year >= 0, year // 2, -1),
        "month": np.where(real, k.month, -1).astype(np.int64),
        "day": np.where(real, k.day, -1).astype(np.int64),
        "md_lo": lo, "md_hi": hi,
        "phone": v["phone"], "document": v["document"], "postcode": v["postcode"],
        "locality": v["locality"], "address_line": v["address_line"],
        "street_number": v["street_number"],
    })


#: blocking rule → (key space, the parts it combines, parts that must be *missing* — an
#: ``_open`` key). Rules in one space meet each other (the crosswise initial and name keys).
BLOCKING_RULES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # family name + birth year, narrowed by the {day, month} pair (an initial adds no true
    # pair that the other rules miss: measured at 100k)
    "family_year": ("family_year", ("family", "year"), ()),
    "family_year_date": ("family_year_date", ("family", "year", "md_lo", "md_hi"), ()),
    "family_year_open_given": ("family_year", ("family", "year"), ("gi",)),
    "family_year_open_date": ("family_year", ("family", "year"), ("md_lo",)),
    # name group + family name, narrowed by the two-year window
    "given_family": ("given_family", ("group", "family"), ()),
    "given_family_year2": ("given_family_year2", ("group", "family", "year2"), ()),
    "given_family_open": ("given_family", ("group", "family"), ("year",)),
    # ... or a place in common (a wrong year: the clear rule lets a shared place pass)
    "given_family_locality": ("given_family_locality", ("group", "family", "locality"), ()),
    "given_family_street": ("given_family_street", ("group", "family", "street_number"), ()),
    # full real birth date, narrowed by an initial (either name, crosswise)
    "birth_date": ("birth_date", ("year", "month", "day"), ()),
    "birth_date_gi": ("birth_date_initial", ("year", "month", "day", "gi"), ()),
    "birth_date_fi": ("birth_date_initial", ("year", "month", "day", "fi"), ()),
    "birth_date_open": ("birth_date", ("year", "month", "day"), ("name_lo",)),
    "birth_date_postcode": ("birth_date_postcode", ("year", "month", "day", "postcode"), ()),
    "birth_date_street": ("birth_date_street", ("year", "month", "day", "street_number"), ()),
    # both names in a fixed order (swaps meet), narrowed by the two-year window
    "sorted_names": ("sorted_names", ("name_lo", "name_hi"), ()),
    "sorted_names_year2": ("sorted_names_year2", ("name_lo", "name_hi", "year2"), ()),
    "sorted_names_open": ("sorted_names", ("name_lo", "name_hi"), ("year",)),
    "sorted_names_locality": ("sorted_names_locality", ("name_lo", "name_hi", "locality"), ()),
    # name group + birth year, narrowed by the {day, month} pair
    "given_year": ("given_year", ("group", "year"), ()),
    "given_year_date": ("given_year_date", ("group", "year", "md_lo", "md_hi"), ()),
    "given_year_open_date": ("given_year", ("group", "year"), ("md_lo",)),
    # first three letters of both names, narrowed by the two-year window
    "name_prefixes": ("name_prefixes", ("g3", "f3"), ()),
    "name_prefixes_year2": ("name_prefixes_year2", ("g3", "f3", "year2"), ()),
    "name_prefixes_open": ("name_prefixes", ("g3", "f3"), ("year",)),
    # name group + day and month (any year)
    "given_month_day": ("given_month_day", ("group", "month", "day"), ()),
    # a given name written as the other's family name: name + other initial + year, crosswise
    "name_as_given": ("name_as", ("given", "fi", "year"), ()),
    "name_as_family": ("name_as", ("family", "gi", "year"), ()),
    "phone": ("phone", ("phone",), ()),
    "document": ("document", ("document",), ()),
    "family_postcode": ("family_postcode", ("family", "postcode"), ()),
    "given_postcode": ("given_postcode", ("group", "postcode"), ()),
    # street line + number, narrowed by the year or an initial
    "address_year": ("address_year", ("address_line", "street_number", "year"), ()),
    "address_gi": ("address_initial", ("address_line", "street_number", "gi"), ()),
    "address_fi": ("address_initial", ("address_line", "street_number", "fi"), ()),
    "postcode_locality": ("postcode_locality", ("postcode", "locality"), ()),
}  # fmt: skip


#: pairs of key columns in one key space that the hub joins crosswise (either orientation) as
#: well as each with itself. Where a record's two are equal (both names start alike; given
#: name = family name), the second gets a keyed filler unique to the record: the first still
#: carries the shared value, and every join that met the second meets the first.
CROSSWISE_KEYS: tuple[tuple[str, str], ...] = (
    ("birth_date_gi", "birth_date_fi"),
    ("address_gi", "address_fi"),
    ("name_as_given", "name_as_family"),
)


def _atoms(values: list[Any]) -> np.ndarray:
    """A fixed 16-byte digest of each distinct part value (unkeyed, never stored: only the
    keyed HMAC of a combination of them leaves the contributor)."""
    return np.frombuffer(b"".join(hashlib.blake2b(str(v).encode("utf-8"), digest_size=16)
                                  .digest() for v in values), dtype="V16")


def _unique_rows(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, inverse) of the non-negative code columns ``cols``: one int64 sort on
    the mixed-radix number of each row when it fits in 63 bits (else a row-wise unique)."""
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in cols]
    if float(np.prod(np.array(sizes, dtype=np.float64))) >= 2.0 ** 62:
        combos, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
        return combos, inverse.reshape(-1)
    number = np.zeros(len(cols[0]), dtype=np.int64)
    for c, size in zip(cols, sizes, strict=True):
        number = number * size + c
    uniq, inverse = np.unique(number, return_inverse=True)
    combos = np.empty((len(uniq), len(cols)), dtype=np.int64)
    for j in range(len(cols) - 1, -1, -1):
        combos[:, j] = uniq % sizes[j]
        uniq = uniq // sizes[j]
    return combos, inverse.reshape(-1)


def _keyed(subkey: bytes, parts: _Parts, names: tuple[str, ...], mask: np.ndarray) -> pa.Array:
    """Keyed BLAKE2b-64 of each masked record's parts (BLAKE2's keyed mode is a MAC, a
    pseudo-random function of the key like HMAC, and 3× cheaper), computed once per distinct
    combination; null elsewhere."""
    n = len(mask)
    out = np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        cols, atoms = [], []
        for name in names:
            a = parts.arrays[name][rows]
            if a.dtype == object:
                codes, vocab = _factorize(a)
            else:
                vocab, codes = np.unique(a, return_inverse=True)
                vocab = vocab.tolist()
            cols.append(codes.reshape(-1))
            atoms.append(_atoms(vocab))
        combos, inverse = _unique_rows(cols)
        msgs = np.stack([atoms[j][combos[:, j]] for j in range(len(names))], axis=1)
        buf, w = msgs.tobytes(), 16 * len(names)
        digests = b"".join(hashlib.blake2b(buf[i:i + w], key=subkey, digest_size=8).digest()
                           for i in range(0, len(buf), w))
        out[rows] = np.frombuffer(digests, dtype="<i8")[inverse.reshape(-1)]
    return pa.array(out, pa.int64(), mask=~mask)


def _blocking_keys(k: _Keys, key: bytes, record_ids: pa.Array) -> dict[str, pa.Array]:
    parts = _parts(k)
    out: dict[str, pa.Array] = {}
    full: dict[tuple[str, tuple[str, ...]], pa.Array] = {}  # an open key is its rule's key
    for rule, (space, names, missing) in BLOCKING_RULES.items():
        mask = np.ones(len(k.year), dtype=bool)
        for name in names:
            mask &= parts.has(name)
        if (space, names) in full and missing:
            for name in missing:
                mask &= ~parts.has(name)
            out[rule] = pa.compute.if_else(pa.array(mask), full[space, names],
                                           pa.scalar(None, pa.int64()))
            continue
        for name in missing:
            mask &= ~parts.has(name)
        out[rule] = _keyed(_subkey(key, "block/" + space), parts, names, mask)
        if not missing:
            full[space, names] = out[rule]
    for first, second in CROSSWISE_KEYS:
        out[second] = _unequal(out[first], out[second], _subkey(key, "block/filler/" + second),
                               record_ids)
    return out


def _unequal(first: pa.Array, second: pa.Array, subkey: bytes, record_ids: pa.Array
             ) -> pa.Array:
    """``second`` with a filler wherever it equals ``first`` in the same record: keyed
    BLAKE2b-64 of the record id and the key, unique to the record and pseudo-random to the hub
    (which has no key). Keyed rather than drawn fresh (:mod:`secrets`), so that a package sent
    again holds the same filler: a fresh draw would change exactly the keys of the records
    whose names start alike, and a hub comparing the two packages would see which they are."""
    same = pa.compute.fill_null(pa.compute.equal(first, second), False).to_numpy(
        zero_copy_only=False)
    if not same.any():
        return second
    values = second.fill_null(0).to_numpy(zero_copy_only=False).copy()
    ids = record_ids.to_pylist()
    values[same] = np.frombuffer(b"".join(
        hashlib.blake2b(f"{ids[i]}\x1f{values[i]}".encode(), key=subkey, digest_size=8).digest()
        for i in np.flatnonzero(same).tolist()), dtype="<i8")
    return pa.array(values, pa.int64(), mask=~second.is_valid().to_numpy(zero_copy_only=False))


# ---------------------------------------------------------------------------------------------
# Encoding and packages


@dataclass
class Encoded:
    """An encoded contribution: ``table`` (Arrow: ``record_id``, ``consent_linkage``, one
    ``bf_<field>`` fixed-size binary column per field, one ``bk_<rule>`` int64 column per
    blocking rule) and its ``manifest`` (JSON-ready dict)."""

    table: pa.Table
    manifest: dict[str, Any]


def encode_table(table: pa.Table, key: bytes, settings: EncodingSettings | None = None, *,
                 contributor: str = "", source: str = "the input",
                 row_numbers: np.ndarray | None = None) -> Encoded:
    """Encode the identity columns of ``table`` (see the module docstring). Rows whose
    ``consent_linkage`` column is false are encoded with every field missing — their consent
    does not allow linkage, so nothing about them leaves the contributor beyond the record id
    and the flag. The normalisers' memos are emptied when it ends, also when it fails: no
    identifier outlives the encoding in them.

    :raises ProfileError: a record id holds its record's name, birth date, document or phone
        (:func:`safelight.identity.idcheck.check_ids_hold_no_identity`; ``source`` names the
        input in the message, ``row_numbers`` are the file's row number of each table row):
        ids travel in clear.
    """
    try:
        return _encode(table, key, settings or EncodingSettings(), contributor, source,
                       row_numbers)
    finally:
        clear_caches()


def _encode(table: pa.Table, key: bytes, s: EncodingSettings, contributor: str,
            source: str, row_numbers: np.ndarray | None) -> Encoded:
    """The body of :func:`encode_table`."""
    if len(key) < KEY_MIN_BYTES:
        raise EncodingError(f"the key has {len(key)} bytes, at least {KEY_MIN_BYTES} are needed")
    if "record_id" not in table.column_names:
        raise EncodingError("the input has no record_id column — map the id column to record_id")
    n = table.num_rows
    if "consent_linkage" not in table.column_names:
        consent_np = np.ones(n, dtype=bool)  # no consent column: the contributor vouches
    else:
        consent_np = (_col(table, "consent_linkage").cast(pa.bool_()).fill_null(False)
                      .to_numpy(zero_copy_only=False))
    keys = _keys(table)
    check_ids_hold_no_identity(source, _str(table, "record_id").to_pylist(), *keys.names,
                               keys.year, keys.month, keys.day, keys.values["document"],
                               keys.values["phone"], _str(table, "phone").to_pylist(),
                               row_numbers)
    dates = _date_token_sets(keys)
    name_salts = _salts(keys, s.name_salt)
    rng = np.random.default_rng(s.seed if s.seed is not None else secrets.randbits(128))
    cols: dict[str, pa.Array] = {
        "record_id": _str(table, "record_id"),
        "consent_linkage": pa.array(consent_np, pa.bool_()),
    }
    counts: dict[str, int] = {}
    for spec in s.fields:
        salts = name_salts if spec.name in SALTED_FIELDS else None
        packed, present = _filters(spec, _field_values(spec, keys, dates), key, salts)
        present &= consent_np
        packed = _flip(packed, s.flip_probability, rng)
        packed[~present] = 0  # nothing of a withheld or missing value stays under the null
        width = spec.bits // 8
        validity = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
        cols[f"bf_{spec.name}"] = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), n, [validity, pa.py_buffer(np.ascontiguousarray(packed).tobytes())],
            null_count=int(n - present.sum()))
        counts[spec.name] = int(present.sum())
    withheld = pa.array(~consent_np)
    for rule, arr in _blocking_keys(keys, key, cols["record_id"]).items():
        cols[f"bk_{rule}"] = pa.compute.if_else(withheld, pa.scalar(None, pa.int64()), arr)
    manifest = {
        "format": "safelight-pprl-package",
        "format_version": FORMAT_VERSION,
        "contributor": contributor,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_fingerprint": key_fingerprint(key),
        "settings": s.to_dict(),
        "blocking_rules": list(BLOCKING_RULES),
        "records": n,
        "records_with_consent_to_linkage": int(consent_np.sum()),
        "fields_present": counts,
    }
    log.info("encoded %d records (%d with consent to linkage)", n, int(consent_np.sum()))
    return Encoded(pa.table(cols), manifest)


def write_package(encoded: Encoded, path: Path) -> Path:
    """Write ``encoded`` as a contribution package directory ``path`` (records.parquet +
    manifest.json, the manifest listing the Parquet file's SHA-256). Parquet metadata carries
    no pandas or schema extras beyond Arrow's own.

    The records are written in a random order (a fresh permutation from the OS's randomness):
    an export sorted by name would otherwise tell the hub each record's alphabetical rank,
    which with a table of name frequencies points to the names (a privacy review's finding);
    sorted by date of registration or by id, it would tell what the export's order tells."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(secrets.randbits(128)).permutation(encoded.table.num_rows)
    table = encoded.table.take(order).replace_schema_metadata(None)
    pq.write_table(table, path / RECORDS, compression="zstd", write_statistics=False)
    manifest = dict(encoded.manifest)
    manifest["records_sha256"] = hashlib.sha256((path / RECORDS).read_bytes()).hexdigest()
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return path
