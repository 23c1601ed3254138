"""After a linkage run no memo anywhere in safelight holds the run's values.

Every ``functools.lru_cache`` of a ``safelight`` module is found through the garbage collector
(not a list kept by hand, which would miss a new memo), and each must be empty after a run,
except the loaders of shipped tables, which hold no input value, and the geography lookups
(country and region names, not identifiers)."""

from __future__ import annotations

import functools
import gc

import pyarrow as pa

from safelight.link import LinkSettings, link_records

#: memos that load shipped tables or settings, never an input value (by qualified name)
TABLE_LOADERS = frozenset({
    "safelight.identity.romanise._arabic_spellings",
    "safelight.identity.normalise._arabic_tables",
    "safelight.identity.normalise._given_groups",
    "safelight.identity.normalise._phonenumbers",
    "safelight.identity.normalise._country_metadata",
    "safelight.identity.normalise._length_check",
    "safelight.demo.names.load_yaml",
    "safelight.demo.names.nicknames",
    "safelight.standard.codelists._load",
    "safelight.standard.crosswalk.load_crosswalk",
})


def _memos() -> list[tuple[str, functools._lru_cache_wrapper]]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper):
            module = getattr(obj, "__module__", "") or ""
            if module.startswith("safelight."):
                found.append((f"{module}.{obj.__qualname__}", obj))
    return found


def _table(n: int) -> pa.Table:
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    return generate_linkage_pairs(n, n, seed=4).combined()[0]


def test_no_memo_in_safelight_holds_a_value_after_a_run():
    table = _table(150)
    res = link_records(table, LinkSettings(two_source=True, workers=1))
    assert len(res.labels) == table.num_rows
    memos = _memos()
    assert any(name.endswith("normalise.match_key") for name, _ in memos)  # the scan sees them
    held = {name: fn.cache_info().currsize for name, fn in memos
            if fn.cache_info().currsize and name not in TABLE_LOADERS
            and not name.startswith("safelight.standard.geography.")}
    assert not held, f"memos still holding values after a linkage run: {held}"


def test_no_memo_holds_a_value_after_encoding(tmp_path):
    from safelight.identity.encode import encode_table

    table = _table(100)
    encode_table(table, bytes(range(32)))
    held = {name: fn.cache_info().currsize for name, fn in _memos()
            if fn.cache_info().currsize and name not in TABLE_LOADERS
            and not name.startswith("safelight.standard.geography.")}
    assert not held, f"memos still holding values after encoding: {held}"
