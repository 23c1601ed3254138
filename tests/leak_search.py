"""Search a bench's output for the identities of its input, as written or normalised:
names, phones, documents and addresses (each as given and as :func:`prepare` normalises
them), and birth dates as ``YYYY-MM-DD``, ``DD.MM.YYYY`` and ``DD/MM/YYYY``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

_COLUMNS = ("given_name", "family_name", "phone", "document_number", "address_line", "locality")
_VOCAB = ("given", "family", "phone", "document", "address_line", "locality")


def clear_values(table: pa.Table, min_len: int = 5) -> set[str]:
    """The casefolded identity values of ``table`` of at least ``min_len`` characters."""
    from safelight.link.prepare import prepare

    out: set[str] = set()
    for col in _COLUMNS:
        if col in table.column_names:
            out |= {str(v).casefold() for v in table.column(col).to_pylist() if v}
    vocab = prepare(table).codes.vocab
    for name in _VOCAB:
        out |= {str(v).casefold() for v in vocab.get(name, [])}
    if {"birth_year", "birth_month", "birth_day"} <= set(table.column_names):
        for y, m, d in zip(*(table.column(c).to_pylist()
                             for c in ("birth_year", "birth_month", "birth_day")), strict=True):
            if y and m and d:
                out |= {f"{y:04d}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y:04d}",
                        f"{d:02d}/{m:02d}/{y:04d}"}
    return {v for v in out if len(v) >= min_len}


def npz_text(path: Path) -> str:
    """Every string entry of the ``.npz`` at ``path`` (text arrays), joined."""
    with np.load(path, allow_pickle=False) as z:
        return "\n".join(" ".join(map(str, z[k].ravel())) for k in z.files
                         if z[k].dtype.kind in "US")


def leaked(values: Iterable[str], *texts: str) -> list[str]:
    """The ``values`` found in any of ``texts`` (casefolded)."""
    hay = "\n".join(texts).casefold()
    return sorted(v for v in values if v in hay)
