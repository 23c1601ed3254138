"""Contact networks: hub contact points are set aside, networks are summarised."""

from __future__ import annotations

import numpy as np

from safelight.detect.contacts import extract_contacts
from safelight.detect.corpus import CorpusSettings, generate_corpus
from safelight.detect.metrics import pairwise_scores
from safelight.detect.networks import contact_networks, summarise_networks


def test_hub_number_links_nothing() -> None:
    # 30 unrelated posters all give one booking line; two ads share a private number
    import random

    rng = random.Random(1)
    texts = [" ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
                      for _ in range(10)) for _ in range(30)]
    contacts = [["phone:+10000000000"] for _ in range(30)]
    contacts[0].append("phone:+12015550123")
    contacts[1].append("phone:+12015550123")
    naive = contact_networks(contacts, hub_min=10**9)
    assert len(set(naive.labels.tolist())) == 1
    res = contact_networks(contacts, texts, hub_min_df=10)
    assert [h[0] for h in res.hubs] == ["phone:+10000000000"]
    assert res.labels[0] == res.labels[1]
    assert len(set(res.labels.tolist())) == 29


def test_large_operator_number_is_not_a_hub() -> None:
    texts = ["sweet anna new in town call me any time kisses"] * 40
    contacts = [["phone:+12015550123"]] * 40
    res = contact_networks(contacts, texts)
    assert res.hubs == [] and len(set(res.labels.tolist())) == 1


def test_networks_on_corpus_beat_naive_linking() -> None:
    corpus = generate_corpus(CorpusSettings(n_ads=4000, edit_rate=0.05, hub_phone_share=0.08))
    contacts = [[c.key for c in extract_contacts(t, r)]
                for t, r in zip(corpus.text, corpus.region, strict=True)]
    naive = contact_networks(contacts, hub_min=10**9)
    ours = contact_networks(contacts, corpus.text)
    p_naive = pairwise_scores(naive.labels, corpus.operator)["precision"]
    p_ours = pairwise_scores(ours.labels, corpus.operator)["precision"]
    assert p_ours >= 0.99 and p_ours > p_naive
    assert ours.hubs
    summaries = summarise_networks(ours.labels, contacts, [h[0] for h in ours.hubs],
                                   corpus.site, corpus.city, corpus.posted_at)
    top = summaries[0]
    assert top.n_ads >= summaries[-1].n_ads >= 2
    assert top.n_contacts >= 1 and top.first_posted <= top.last_posted
    assert not set(top.contacts) & {h[0] for h in ours.hubs}


def test_tied_contact_points_keep_the_ads_order() -> None:
    # two contact points named by both ads: tied counts come out in the order the ads name
    # them (a set's order varies with the hash seed from run to run)
    contacts = [["phone:+34612534832", "email:please@blonde.de"],
                ["email:please@blonde.de", "phone:+34612534832"]]
    summary = summarise_networks(np.zeros(2, dtype=np.int64), contacts)
    assert summary[0].contacts == ["phone:+34612534832", "email:please@blonde.de"]
    flipped = summarise_networks(np.zeros(2, dtype=np.int64), contacts[::-1])
    assert flipped[0].contacts == ["email:please@blonde.de", "phone:+34612534832"]
