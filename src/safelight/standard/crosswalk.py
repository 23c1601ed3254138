"""Crosswalks: versioned value translations from a source format to the canonical codes.

A crosswalk file (``crosswalks/<name>.yaml``) maps, per canonical field, each raw value of the
source format to a canonical code. Lookups ignore case and surrounding blanks. The raw value is
never discarded: the store keeps it next to the mapped one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from safelight.errors import ProfileError


def normalise_key(value: str) -> str:
    """The form used to match raw values: trimmed, inner blanks collapsed, case-folded."""
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class Crosswalk:
    name: str
    version: str
    source: str
    values: dict[str, dict[str, Any]]  # field → {normalised raw value → canonical value}
    notes: dict[str, str] = field(default_factory=dict)
    sha256: str = ""

    def lookup(self, field_name: str) -> dict[str, Any]:
        return self.values.get(field_name, {})

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def builtin_crosswalks() -> list[str]:
    root = resources.files("safelight.standard").joinpath("crosswalks")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def parse_crosswalk(text: str, origin: str) -> Crosswalk:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"crosswalk {origin}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or "crosswalk" not in doc or "version" not in doc:
        raise ProfileError(f"crosswalk {origin}: needs the keys 'crosswalk' and 'version'")
    values: dict[str, dict[str, Any]] = {}
    for fname, mapping in (doc.get("values") or {}).items():
        if not isinstance(mapping, dict):
            raise ProfileError(f"crosswalk {origin}: values.{fname} must be a mapping raw → code")
        values[fname] = {normalise_key(str(k)): v for k, v in mapping.items()}
    return Crosswalk(
        name=str(doc["crosswalk"]),
        version=str(doc["version"]),
        source=str(doc.get("source", "")),
        values=values,
        notes={str(k): str(v) for k, v in (doc.get("notes") or {}).items()},
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


@cache
def load_crosswalk(name_or_path: str) -> Crosswalk:
    """A built-in crosswalk by name, or a crosswalk file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return parse_crosswalk(path.read_text("utf-8"), str(path))
    name = name_or_path.split("@")[0]
    res = resources.files("safelight.standard").joinpath(f"crosswalks/{name}.yaml")
    if not res.is_file():
        raise ProfileError(f"unknown crosswalk {name_or_path!r}; built-in: {', '.join(builtin_crosswalks())}")
    return parse_crosswalk(res.read_text("utf-8"), name)
