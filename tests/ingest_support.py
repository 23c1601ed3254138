"""Plain helpers shared by the ingest and CLI tests (import them from here, never from
``conftest``: with several conftest.py files in the tree, ``import conftest`` is ambiguous)."""

from __future__ import annotations

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


def good_row(i: int) -> list[str]:
    return [str(i), "2021", "F" if i % 3 else "M", str(16 + i % 40), ["UA", "NG", "NA", "RO"][i % 4],
            "sexual_exploitation" if i % 2 else "forced_labour,forced_begging", "1" if i % 5 == 0 else "",
            "1" if i % 7 == 0 else "0", f"Name{i}", f"Family{i % 50}", f"0{1 + i % 9}.0{1 + i % 9}.19{70 + i % 29}"]
