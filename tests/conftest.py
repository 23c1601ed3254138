"""Shared fixtures. Tests on the real data in ../shared/data are marked ``realdata`` and skip
with a clear message when that folder is absent."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from ingest_support import TEST_PROFILE

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




@pytest.fixture
def profile_path(tmp_path) -> Path:
    p = tmp_path / "profile.yaml"
    p.write_text(textwrap.dedent(TEST_PROFILE), "utf-8")
    return p


@pytest.fixture
def profile(profile_path):
    from safelight.ingest import load_profile

    return load_profile(profile_path)
