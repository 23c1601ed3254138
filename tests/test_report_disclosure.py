"""The report's small-cell and complementary suppression rule (safelight.report.disclosure)."""

from __future__ import annotations

import itertools
import random

from safelight.report.disclosure import apply_suppression, is_small
from safelight.report.model import Cell, Estimate, Line, ReportSettings, share


def _cells(values: dict[tuple, float]) -> list[Cell]:
    return [Cell(dict(enumerate(k)), Estimate.exact(v)) for k, v in values.items()]


def _state(cells: list[Cell]) -> dict[tuple, str | None]:
    return {c.key_tuple(): c.suppressed for c in cells}


def test_small_cells_exact_and_censored():
    assert is_small(Estimate.exact(4), 5)
    assert not is_small(Estimate.exact(5), 5)
    assert not is_small(Estimate.exact(0), 5)  # zeros are published
    assert is_small(Estimate(1, 2.5, 4), 5)  # a GLOTIP "<5"
    assert is_small(Estimate(3, 5.5, 8), 5)  # a sum that may be below 5
    assert not is_small(Estimate(6, 7.5, 9), 5)
    assert is_small(Estimate.exact(10), 11) and not is_small(Estimate.exact(11), 11)


def test_one_small_cell_in_a_line_forces_a_second():
    cells = _cells({("a",): 3, ("b",): 40, ("c",): 12, ("t",): 55})
    apply_suppression(cells, [Line(("t",), [("a",), ("b",), ("c",)])], threshold=5)
    st = _state(cells)
    assert st[("a",)] == "small"
    assert st[("c",)] == "complementary"  # the smallest other non-zero member
    assert st[("b",)] is None and st[("t",)] is None


def test_zero_members_are_not_used_as_complements():
    cells = _cells({("a",): 2, ("b",): 0, ("t",): 2})
    apply_suppression(cells, [Line(("t",), [("a",), ("b",)])], threshold=5)
    assert _state(cells) == {("a",): "small", ("b",): None, ("t",): "small"}


def test_two_small_cells_need_nothing_more():
    cells = _cells({("a",): 3, ("b",): 2, ("c",): 90, ("t",): 95})
    apply_suppression(cells, [Line(("t",), [("a",), ("b",), ("c",)])], threshold=5)
    assert _state(cells)[("c",)] is None


def test_hidden_members_adding_up_to_a_small_sum_force_another():
    # two small cells of a published total: 607 - 456 - 122 - 27 = 2, so both were 1
    cells = _cells({("w",): 1, ("m",): 1, ("g",): 456, ("b",): 122, ("n",): 27, ("t",): 607})
    apply_suppression(cells, [Line(("t",), [("w",), ("m",), ("g",), ("b",), ("n",)])],
                      threshold=11)
    st = _state(cells)
    assert st[("w",)] == st[("m",)] == "small"
    assert st[("n",)] == "complementary"  # hidden sum 29: each small cell may be 1..10 again
    assert st[("g",)] is None and st[("b",)] is None and st[("t",)] is None


def test_a_small_hidden_sum_with_nothing_else_to_hide_hides_the_total():
    cells = _cells({("a",): 1, ("b",): 2, ("z",): 0, ("t",): 3})
    apply_suppression(cells, [Line(("t",), [("a",), ("b",), ("z",)])], threshold=5)
    assert _state(cells) == {("a",): "small", ("b",): "small", ("z",): None, ("t",): "small"}
    cells = _cells({("a",): 1, ("b",): 2, ("c",): 30, ("t",): 33})
    apply_suppression(cells, [Line(("t",), [("a",), ("b",), ("c",)])], threshold=5)
    assert _state(cells)[("c",)] == "complementary" and _state(cells)[("t",)] is None


def test_cross_table_propagates_until_stable():
    # 3x3 table with margins; one small cell
    vals = {(0, 0): 2, (0, 1): 30, (0, 2): 40, (1, 0): 25, (1, 1): 35, (1, 2): 45,
            (2, 0): 50, (2, 1): 60, (2, 2): 70}
    table = dict(vals)
    for i in range(3):
        table[(i, "t")] = sum(vals[(i, j)] for j in range(3))
        table[("t", i)] = sum(vals[(j, i)] for j in range(3))
    cells = _cells(table)
    lines = [Line((i, "t"), [(i, j) for j in range(3)]) for i in range(3)]
    lines += [Line(("t", j), [(i, j) for i in range(3)]) for j in range(3)]
    apply_suppression(cells, lines, threshold=5)
    st = _state(cells)
    for ln in lines:  # no line has exactly one hidden cell
        assert sum(1 for k in [*ln.members, ln.total] if st[k]) != 1
    assert st[(0, 0)] == "small"
    assert sum(1 for v in st.values() if v == "complementary") >= 3


def test_random_tables_never_leave_a_single_hidden_cell_in_a_line():
    rng = random.Random(7)
    for _ in range(200):
        n, m = rng.randint(2, 5), rng.randint(2, 5)
        vals = {(i, j): rng.choice([0, 1, 2, 3, 6, 9, 15, 40]) for i in range(n) for j in range(m)}
        table = dict(vals)
        for i in range(n):
            table[(i, "t")] = sum(vals[(i, j)] for j in range(m))
        for j in range(m):
            table[("t", j)] = sum(vals[(i, j)] for i in range(n))
        cells = _cells(table)
        lines = [Line((i, "t"), [(i, j) for j in range(m)]) for i in range(n)]
        lines += [Line(("t", j), [(i, j) for i in range(n)]) for j in range(m)]
        apply_suppression(cells, lines, threshold=5)
        st = _state(cells)
        for k in table:
            if 0 < table[k] < 5:
                assert st[k] == "small"
        for ln in lines:
            hidden = [k for k in [*ln.members, ln.total] if st[k]]
            if len(hidden) == 1:  # allowed only when nothing can be recomputed: all else zero
                assert all(table[k] == 0 for k in ln.members if k not in hidden)
            if not st[ln.total]:  # a published total never pins its hidden members' sum small
                hidden_sum = sum(table[k] for k in ln.members if st[k])
                assert hidden_sum == 0 or hidden_sum >= 5
                # nor narrows a small member below 1..4, given what a reader knows of the others
                lower = sum(1 if st[k] == "small" else 5 for k in ln.members if st[k])
                if any(st[k] == "small" for k in ln.members):
                    assert hidden_sum - (lower - 1) >= 4


def test_share_bounds_hold_for_every_censored_value():
    part, rest = Estimate(1, 2.5, 4), Estimate(11, 12.5, 14)  # part "<5", rest 10 + "<5"
    s = share(part, part + rest, rest)
    for p, r in itertools.product(range(1, 5), range(11, 15)):
        assert s.low - 1e-12 <= p / (p + r) <= s.high + 1e-12


def test_settings_round_trip(tmp_path):
    s = ReportSettings(threshold=11, censored="low")
    s.save(tmp_path / "s.json")
    assert ReportSettings.load(tmp_path / "s.json") == s


def test_cli_settings_file_and_overrides(tmp_path):
    from safelight.report.cli import _settings

    s = _settings(None, 11, threshold=None, region_table=None)
    assert s.threshold == 11 and s.censored == "mid"
    ReportSettings(threshold=20, censored="high").save(tmp_path / "s.json")
    s = _settings(tmp_path / "s.json", 5, threshold=None, censored=None)
    assert (s.threshold, s.censored) == (20, "high")  # the file wins over the default
    s = _settings(tmp_path / "s.json", 5, threshold=7, censored=None)
    assert s.threshold == 7  # an option wins over the file


def test_bad_settings_are_refused(tmp_path):
    import json

    import pytest

    from safelight.errors import SafelightError

    with pytest.raises(SafelightError):
        ReportSettings(threshold=0)
    with pytest.raises(SafelightError):
        ReportSettings(base_year=2020, compare_year=2019)
    (tmp_path / "s.json").write_text(json.dumps({"settings_version": 1, "k": 3}))
    with pytest.raises(SafelightError, match="unknown setting"):
        ReportSettings.load(tmp_path / "s.json")


def test_a_complementary_cell_counts_at_least_the_threshold_for_the_reader():
    # women hidden as a complement (so at least 11), girls small: 102 - 50 - 40 = 12 = 11 + 1
    cells = _cells({("w",): 11, ("m",): 50, ("g",): 1, ("b",): 40, ("t",): 102})
    for c in cells:
        if c.key_tuple() == ("w",):
            c.suppressed = "complementary"
    apply_suppression(cells, [Line(("t",), [("w",), ("m",), ("g",), ("b",)])], threshold=11)
    st = _state(cells)
    assert st[("g",)] == "small"
    assert st[("b",)] == "complementary"  # now girls may be 1..10 again
