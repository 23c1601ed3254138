"""Shared fixtures. Tests on the real data in ../shared/data are marked ``realdata`` and skip
with a clear message when that folder is absent."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SAFELIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set SAFELIGHT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def hub(tmp_path):
    from safelight.store import open_hub

    h = open_hub(tmp_path / "hub.duckdb", create=True)
    yield h
    h.close()


TEST_PROFILE = """
profile: test
version: 1
record_id: id
defaults: {consent: full}
fields:
  year_of_registration: year
  gender: {column: sex, values: {F: female, M: male}}
  age_years: age
  citizenship: nat
  types_of_exploitation: {column: expl, separator: ","}
  means_of_control:
    flags: {debt: debt_bondage, docs: withholds_documents}
  given_name: first
  family_name: last
  birth_date: {column: dob, date_formats: ["%d.%m.%Y", "%Y"]}
"""
HEADER = ["id", "year", "sex", "age", "nat", "expl", "debt", "docs", "first", "last", "dob"]


@pytest.fixture
def profile_path(tmp_path) -> Path:
    p = tmp_path / "profile.yaml"
    p.write_text(textwrap.dedent(TEST_PROFILE), "utf-8")
    return p


@pytest.fixture
def profile(profile_path):
    from safelight.ingest import load_profile

    return load_profile(profile_path)


def good_row(i: int) -> list[str]:
    return [str(i), "2021", "F" if i % 3 else "M", str(16 + i % 40), ["UA", "NG", "NA", "RO"][i % 4],
            "sexual_exploitation" if i % 2 else "forced_labour,forced_begging", "1" if i % 5 == 0 else "",
            "1" if i % 7 == 0 else "0", f"Name{i}", f"Family{i % 50}", f"0{1 + i % 9}.0{1 + i % 9}.19{70 + i % 29}"]
