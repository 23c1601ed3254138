"""bench/linkage/yearless.py: its yearless variants really carry no birth year — two inputs that
differ only in their birth years give identical packages — so the bench cannot silently
measure the with-year linkage."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from bench_scripts import bench_module

KEY = bytes.fromhex("3c" * 32)


@pytest.fixture(scope="module")
def yearless():
    with bench_module("bench/linkage/yearless.py") as module:
        yield module


@pytest.fixture(scope="module")
def tables() -> tuple[pa.Table, pa.Table]:
    """A generated source, and the same source with every birth year changed: shifted by 1–40
    years, a missing year filled in, one in ten years blanked."""
    from safelight.demo.linkage_pairs import generate_linkage_pairs

    table = generate_linkage_pairs(300, 300, seed=3).left
    rng = np.random.default_rng(0)
    year = table.column("birth_year").to_numpy(zero_copy_only=False)
    year = np.where(np.isnan(year.astype(float)), 1950, year).astype(np.int64)
    other = year + rng.integers(1, 41, len(year))
    blank = rng.random(len(year)) < 0.1
    years = pa.array(other, pa.int16(), mask=blank)
    i = table.schema.get_field_index("birth_year")
    return table, table.set_column(i, "birth_year", years)


def _encode(table: pa.Table) -> pa.Table:
    from safelight.identity.encode import EncodingSettings, encode_table

    return encode_table(table, KEY, EncodingSettings(seed=7)).table  # seeded flips: comparable


def _package(yearless, name: str, table: pa.Table) -> pa.Table:
    """What the bench's variant ``name`` sends for ``table``."""
    variant = yearless.VARIANTS[name]
    return yearless.withhold_keys(_encode(variant.prepare(table)), variant.withheld)


def _differing(a: pa.Table, b: pa.Table) -> list[str]:
    return [c for c in a.column_names if not a.column(c).equals(b.column(c))]


def test_the_years_do_change_the_with_year_packages(yearless, tables):
    differ = _differing(*(_package(yearless, "with year", t) for t in tables))
    assert "bf_birth_date" in differ and "bk_family_year" in differ  # the check can fail


@pytest.mark.parametrize("variant", ["yearless", "yearless-strict", "no date"])
def test_no_key_or_filter_depends_on_the_birth_year(yearless, tables, variant):
    assert set(yearless.VARIANTS) == {"with year", "yearless", "yearless-strict", "no date"}
    left, right = (_package(yearless, variant, t) for t in tables)
    assert not _differing(left, right)


def test_strict_sends_no_key_of_a_name_alone(yearless, tables):
    sent = _package(yearless, "yearless-strict", tables[0])
    for rule in yearless.NAME_ALONE_KEYS:
        assert sent.column(f"bk_{rule}").null_count == sent.num_rows
    assert sent.column("bk_family_year_date").null_count < sent.num_rows  # name + {day, month}


def test_yearless_keeps_day_and_month(yearless, tables):
    table = tables[0]
    month = table.column("birth_month").to_numpy(zero_copy_only=False)
    plain, stripped = _encode(table), _encode(yearless.strip_year(table))
    dated = int(np.sum(~np.isnan(month.astype(float))))
    assert stripped.column("bf_birth_date").null_count == table.num_rows - dated
    # {day, month} keys: at least those of the records that had a year
    assert (stripped.column("bk_given_month_day").null_count
            <= plain.column("bk_given_month_day").null_count < table.num_rows)
    # "no date" keeps none
    dropped = _encode(yearless.drop_year(table))
    assert dropped.column("bf_birth_date").null_count == table.num_rows
    assert dropped.column("bk_given_month_day").null_count == table.num_rows
