"""Two-source linkage (LinkSettings.two_source): pairs only across the two files, one-to-one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.errors import UsageError
from safelight.link import LinkSettings, link_records, pairwise_scores


@pytest.fixture(scope="module")
def problem():
    r = generate_linkage_pairs(2000, 2000, seed=7)
    table = pa.concat_tables([r.left, r.right.cast(r.left.schema)])
    truth = np.concatenate([np.asarray(r.left_person), np.asarray(r.right_person)])
    return table, truth


@pytest.fixture(scope="module")
def results(problem):
    table, truth = problem
    return {two: link_records(table, LinkSettings(two_source=two)) for two in (False, True)}


def test_pairs_only_across_the_two_files(results):
    res = results[True]
    c, contributor = res.comparisons, res.records.contributor
    assert len(c.a) and (contributor[c.a] != contributor[c.b]).all()
    assert len(c.a) < len(results[False].comparisons.a)


def test_each_record_links_to_at_most_one_of_the_other_file(results):
    labels = results[True].labels
    _, sizes = np.unique(labels, return_counts=True)
    assert sizes.max() <= 2  # one record of each file at most


def test_one_to_one_is_more_precise_and_not_worse(problem, results):
    _, truth = problem
    clustered = pairwise_scores(results[False].labels, truth)
    paired = pairwise_scores(results[True].labels, truth)
    assert paired["precision"] > clustered["precision"]
    assert paired["f1"] >= clustered["f1"]
    assert paired["f1"] >= 0.93


def test_needs_exactly_two_contributors(problem):
    table, _ = problem
    one = table.set_column(table.schema.get_field_index("contributor"), "contributor",
                           pa.array(["only"] * table.num_rows))
    with pytest.raises(UsageError, match="exactly two contributors"):
        link_records(one, LinkSettings(two_source=True))
