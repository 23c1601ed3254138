"""The PPRL hub's fitted model gets the clear model's check
(:func:`safelight.link.model.implausible_fields`): a fit in which agreeing on a name or the
birth date does not mark a match falls back to the default m of the encoded levels, each
session estimating only its share of matches, and a sound fit passes. Two encoded registers
that share no one get few links (they got hundreds: EM fitted households as its match class)."""

from __future__ import annotations

import numpy as np
import pytest

from safelight.demo.linkage_pairs import generate_linkage_pairs
from safelight.identity.encode import EncodingSettings, encode_table, write_package
from safelight.link import pairwise_scores
from safelight.link.compare import Comparisons
from safelight.link.default_m import default_m
from safelight.link.encoded import ENCODED_FIELDS, compare_encoded, from_parts, read_packages
from safelight.link.model import estimate_u, implausible_fields
from safelight.link.pprl import (
    PPRLSettings,
    encoded_full_date_shares,
    encoded_training_pairs,
    fit_encoded_model,
    link_encoded,
)

KEY = bytes(range(1, 33))
FAMILY = list(ENCODED_FIELDS).index("family_name")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A 400 × 400 two-source problem encoded by two contributors: the records, their
    persons, and the training pairs EM learns from (with their levels and the cross u)."""
    p = generate_linkage_pairs(400, 400, seed=1)
    work = tmp_path_factory.mktemp("pprl-implausible")
    er = read_packages([write_package(encode_table(t, KEY, EncodingSettings(seed=2),
                                                   contributor=name), work / name)
                        for name, t in (("left", p.left), ("right", p.right))])
    pid = p.persons_of(er.contributor, er.record_id)  # packages hold a random order
    settings = PPRLSettings(cross_only=True, one_to_one=True)
    ta, tb, training = encoded_training_pairs(er, settings)
    u = estimate_u(er, n_pairs=settings.u_sample_pairs, seed=0,  # type: ignore[arg-type]
                   compare_fn=compare_encoded, fields=ENCODED_FIELDS,
                   across=er.contributor_code)
    return er, pid, compare_encoded(er, ta, tb), training, u


def _fit(er, comps, training, u):
    n_left = int((er.contributor == "left").sum())
    return fit_encoded_model(er, comps, training, u, n_left * (len(er) - n_left),
                             date_shares=encoded_full_date_shares(er, True))


def test_a_sound_fit_passes_the_check_and_links(hub):
    er, pid, comps, training, u = hub
    em = _fit(er, comps, training, u)
    assert implausible_fields(em.model.m, em.model.u, ENCODED_FIELDS, comps.levels) == []
    assert all("fallback" not in s for s in em.sessions)
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    scores = pairwise_scores(res.labels, pid)
    assert scores["precision"] > 0.9 and scores["recall"] > 0.8, scores


def test_a_fit_in_which_the_family_name_says_nothing_falls_back_to_default_m(hub):
    er, _, comps, training, u = hub
    # the training pairs' family-name levels drawn from u, as if their family names were those
    # of unrelated people: EM's m of the family name comes out near u (the 25,000 × 25,000
    # unrelated registers of the clear check: exact -0.56 bits, different -0.01)
    rng = np.random.default_rng(0)
    levels = comps.levels.copy()
    levels[:, FAMILY] = rng.choice(len(u[FAMILY]), size=len(levels), p=u[FAMILY])
    noise = Comparisons(comps.a, comps.b, levels, comps.swapped)
    em = _fit(er, noise, training, u)
    main = [s for s in em.sessions if "role" not in s]
    assert main and all(not s["fit_m"] and s["fallback"] == "implausible m: family_name"
                        for s in main)
    defaults = default_m(ENCODED_FIELDS, encoded_full_date_shares(er, True))
    for name in ("given_name", "family_name", "birth_date", "address"):
        j = list(ENCODED_FIELDS).index(name)
        assert np.allclose(em.model.m[j], defaults[name]), name


def test_a_fit_that_falls_back_keeps_default_m_for_sex_and_nationality(hub, monkeypatch):
    """The main sessions fix sex and nationality (large registers), so a second fit teaches
    them; after a fallback it is not run: the training pairs hold no match class to learn
    them from either."""
    import safelight.link.pprl as pprl

    er, _, comps, training, u = hub
    monkeypatch.setattr(pprl, "MIN_SESSION_PAIRS", 0)  # the main sessions, as at scale
    rng = np.random.default_rng(0)
    levels = comps.levels.copy()
    levels[:, FAMILY] = rng.choice(len(u[FAMILY]), size=len(levels), p=u[FAMILY])
    em = _fit(er, Comparisons(comps.a, comps.b, levels, comps.swapped), training, u)
    assert em.fallback == "implausible m: family_name" and any("fallback" in s for s in em.sessions)
    assert not any(s.get("role", "").startswith("m of") for s in em.sessions)
    defaults = default_m(ENCODED_FIELDS, encoded_full_date_shares(er, True))
    for name in ("sex", "nationality"):
        j = list(ENCODED_FIELDS).index(name)
        assert np.allclose(em.model.m[j], defaults[name]), name
    # a sound fit still takes them from the second fit
    sound = _fit(er, comps, training, u)
    assert any(s.get("role", "").startswith("m of") for s in sound.sessions)


def test_encoded_registers_that_share_no_one_get_few_links():
    # 3,000 x 3,000 generated records, nobody in both: 51 links before the m-margin rule, the
    # encoded default m, the one address field and the places' compatriot u (1,383 at
    # 10,000 x 10,000); 10-11 after (29-32; each run's key moves them by a few). What remains
    # are namesakes and twins alike on the birth date and a shared home.
    p = generate_linkage_pairs(3000, 3000, seed=1, overlap=0.0)
    er = from_parts([(pkg.manifest, pkg.table) for pkg in (
        encode_table(t, KEY, EncodingSettings(seed=2), contributor=name)
        for name, t in (("left", p.left), ("right", p.right)))], ["left", "right"])
    res = link_encoded(er, PPRLSettings(cross_only=True, one_to_one=True))
    c = res.comparisons
    links = int((res.labels[c.a] == res.labels[c.b]).sum())
    assert links <= 20, links
