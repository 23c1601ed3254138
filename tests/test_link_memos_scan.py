"""After a linkage run (or an encoding) no memo anywhere in safelight holds the run's values.

Every ``functools.lru_cache`` of a ``safelight`` module is found through the garbage collector
(not a list kept by hand, which would miss a new memo). After the run, a memo fails the test
if it holds anything and either belongs to the identity or link packages or grew during the
run — except the loaders of shipped tables, which hold no input value. (A memo of another
package that earlier tests filled and the run did not touch is that package's business.)"""

from __future__ import annotations

import functools
import gc

import pyarrow as pa

from safelight.link import LinkSettings, link_records

#: memos that load shipped tables or settings, never an input value (by qualified name;
#: ``_length_check`` holds (country metadata, length) pairs only)
TABLE_LOADERS = frozenset({
    "safelight.identity.romanise._arabic_spellings",
    "safelight.identity.normalise._arabic_tables",
    "safelight.identity.normalise._given_groups",
    "safelight.identity.normalise._phonenumbers",
    "safelight.identity.normalise._country_metadata",
    "safelight.identity.normalise._length_check",
    "safelight.identity.normalise._sex_words",  # data/sex_words.yaml
    "safelight.link.default_m._doc",  # default m per comparison level (default_m.json)
})
#: packages whose memos hold shipped data only (the generator's name pools, the standard's
#: code lists, crosswalks and geography: country and region names, not identifiers)
DATA_PACKAGES = ("safelight.demo.", "safelight.standard.")


def _sizes() -> dict[str, int]:
    return {name: fn.cache_info().currsize for name, fn in _memos()
            if name not in TABLE_LOADERS and not name.startswith(DATA_PACKAGES)}


def _held_after(run) -> dict[str, int]:  # noqa: ANN001
    """The memos that hold values after ``run()`` and belong to identity/link or grew."""
    before = _sizes()
    run()
    return {name: size for name, size in _sizes().items()
            if size and (name.startswith(("safelight.identity.", "safelight.link."))
                         or size > before.get(name, 0))}


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
    held = _held_after(lambda: link_records(table, LinkSettings(two_source=True, workers=1)))
    assert any(name.endswith("normalise.match_key") for name, _ in _memos())  # the scan sees them
    assert not held, f"memos still holding values after a linkage run: {held}"


def test_no_memo_holds_a_value_after_encoding():
    from safelight.identity.encode import encode_table

    table = _table(100)
    held = _held_after(lambda: encode_table(table, bytes(range(32))))
    assert not held, f"memos still holding values after encoding: {held}"
