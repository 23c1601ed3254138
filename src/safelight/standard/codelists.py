"""Code lists of the case standard, loaded from ``data/codelists.yaml``.

A code list maps stable lowercase codes to a label, a definition and optional attributes
(e.g. ``isic`` for labour sectors, ``min``/``max`` for bands, ``linkage``/``statistics`` for
consent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    definition: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    codes: dict[str, Code]

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def band_of(self, value: int) -> str | None:
        """For band lists (codes with min/max): the code whose range holds ``value``."""
        for code in self.codes.values():
            lo, hi = code.attributes.get("min"), code.attributes.get("max")
            if lo is not None and lo <= value <= hi:
                return code.code
        return None


@cache
def _load() -> tuple[str, dict[str, CodeList]]:
    text = resources.files("safelight.standard").joinpath("data/codelists.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    lists: dict[str, CodeList] = {}
    for name, spec in doc["lists"].items():
        codes = {}
        for code, c in spec["codes"].items():
            attrs = {k: v for k, v in c.items() if k not in ("label", "definition")}
            codes[str(code)] = Code(str(code), c["label"], c["definition"], attrs)
        lists[name] = CodeList(name, " ".join(spec["description"].split()), codes)
    return str(doc["version"]), lists


def codelist(name: str) -> CodeList:
    """The code list called ``name``."""
    lists = _load()[1]
    if name not in lists:
        raise KeyError(f"unknown code list {name!r}; known: {', '.join(lists)}")
    return lists[name]


def all_codelists() -> dict[str, CodeList]:
    return dict(_load()[1])


def codelists_version() -> str:
    return _load()[0]
