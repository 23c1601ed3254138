"""Leads: template clusters and contact networks ranked for human review, each with its reasons.

Contract
--------
:func:`build_leads` turns cluster and network summaries into :class:`Lead` objects ranked by
``score`` (0–1). The score is the sum of the points of its :class:`Reason` objects, capped at 1,
and nothing else: every point is explained in words with the number behind it. A lead is a
prompt to look, never a verdict; a cluster or network of fewer than ``min_ads`` ads is no lead.

:func:`render_html` writes a self-contained HTML page (inline CSS, no script, no external
resource). Ad text is untrusted: every string from the data is HTML-escaped, and template slots
are rendered from ``(is_slot, text)`` runs, never by trusting markup in the text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from safelight.detect.indicators import Hit, IndicatorScore, IndicatorTable
from safelight.detect.networks import NetworkResult, NetworkSummary
from safelight.detect.templates import ClusterSummary

__all__ = ["Lead", "Reason", "build_leads", "render_html"]


@dataclass(frozen=True)
class Reason:
    """One reason a lead ranks where it does: ``points`` added to the score, ``text`` says why."""

    code: str
    points: float
    text: str


@dataclass
class Lead:
    """A cluster (``kind="template"``) or network (``kind="network"``) worth a human look."""

    lead_id: str
    kind: str
    score: float
    reasons: list[Reason]
    n_ads: int
    n_sites: int
    n_cities: int
    first_posted: str
    last_posted: str
    description: str
    example_ad_ids: list[str]
    parts: list[tuple[bool, str]] = field(default_factory=list)
    indicator_hits: list[Hit] = field(default_factory=list)
    indicator_ad: str = ""
    indicator_text: str = ""


def _span_reason(n_ads: int, span: float) -> Reason | None:
    if not math.isnan(span) and n_ads >= 5:
        per_day = n_ads / max(span, 1.0)
        if per_day >= 1:
            return Reason("burst", round(min(0.1, 0.05 * per_day), 3),
                          f"{n_ads} ads in {max(span, 0):.0f} days ({per_day:.1f} a day)")
    return None


def _indicator_reasons(idx: np.ndarray, scores: Sequence[IndicatorScore] | None,
                       fraud: np.ndarray | None) -> tuple[list[Reason], int]:
    """Reasons from the ads' indicator scores and fraud probabilities; and the ad to show."""
    if not scores and fraud is None:
        return [], -1
    reasons: list[Reason] = []
    best = -1
    if scores:
        if isinstance(scores, IndicatorTable):  # compact: no hit objects built per ad
            flag_of, score_of, inds_of = (scores.flagged.__getitem__, scores.score.__getitem__,
                                          scores.indicator_ids)
        else:
            def flag_of(i: int) -> bool:
                return scores[i].flagged

            def score_of(i: int) -> float:
                return scores[i].score

            def inds_of(i: int) -> tuple[str, ...]:
                return scores[i].indicators
        if isinstance(scores, IndicatorTable):  # whole arrays: the same count and best ad
            n_flagged = int(np.count_nonzero(scores.flagged[idx]))
            sc = scores.score[idx]
            best = int(idx[sc == sc.max()].min())  # the highest score, then the first ad
        else:
            n_flagged = sum(1 for i in idx if flag_of(i))
            best = int(max(idx, key=lambda i: (score_of(i), -i)))
        if n_flagged:
            if isinstance(scores, IndicatorTable):  # per distinct set of indicators
                counts = scores.indicator_counts(idx)
            else:
                counts = {}
                for i in idx:
                    for ind in inds_of(i):
                        counts[ind] = counts.get(ind, 0) + 1
            share = n_flagged / len(idx)
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
            reasons.append(Reason(
                "indicators", round(min(0.25, 0.05 + 0.2 * share), 3),
                f"{n_flagged} of {len(idx)} ads carry several trafficking/recruitment-fraud "
                f"indicators (top ad scores {score_of(best):.2f}; most frequent: "
                + ", ".join(f"{k} in {v}" for k, v in top) + ")"))
    if fraud is not None:
        p = fraud[idx]
        high = int((p >= 0.5).sum())
        if high:
            reasons.append(Reason("fraud_model", round(min(0.2, 0.2 * high / len(idx)), 3),
                                  f"the recruitment-fraud model gives {high} of {len(idx)} ads a "
                                  f"probability ≥ 0.5 (highest {p.max():.2f})"))
            if best < 0:
                best = int(idx[int(np.argmax(p))])
    return reasons, best


def build_leads(ad_ids: Sequence[str], contacts: Sequence[Sequence[str]],
                cluster_labels: np.ndarray, clusters: Sequence[ClusterSummary],
                networks: NetworkResult, network_summaries: Sequence[NetworkSummary],
                min_ads: int = 3, examples: int = 5,
                indicator_scores: Sequence[IndicatorScore] | None = None,
                fraud: np.ndarray | None = None,
                texts: Sequence[str] | None = None) -> list[Lead]:
    """Rank clusters and networks of at least ``min_ads`` ads (see the module docstring).

    With ``indicator_scores`` (one per ad, :func:`safelight.detect.indicators.score_text`) a
    lead whose ads are flagged gains an ``indicators`` reason and carries the hits of its
    highest-scoring ad (shown, term by term, in the HTML); with ``fraud`` (one probability per
    ad) a lead gains a ``fraud_model`` reason.
    """

    def attach(lead: Lead, idx: np.ndarray) -> Lead:
        extra, best = _indicator_reasons(idx, indicator_scores, fraud)
        if extra:
            lead.reasons.extend(extra)
            lead.score = min(1.0, sum(r.points for r in lead.reasons))
        if best >= 0 and indicator_scores:
            lead.indicator_hits = list(indicator_scores[best].hits)
            lead.indicator_ad = ad_ids[best]
            lead.indicator_text = texts[best] if texts is not None else ""
        return lead

    labels = np.asarray(cluster_labels)
    net_labels = np.asarray(networks.labels)
    hub_df = {k: d for k, d, _ in networks.hubs}
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(int(labels.max(initial=-1)) + 2))
    leads: list[Lead] = []
    for c in clusters:
        if c.n_ads < min_ads:
            continue
        idx = order[starts[c.cluster_id]:starts[c.cluster_id + 1]]
        phones = {k for i in idx for k in contacts[i] if k.startswith("phone:")}
        own_phones = {k for k in phones if k not in hub_df}
        hubs_used = sorted(phones - own_phones, key=lambda k: (-hub_df[k], k))  # ties: by key
        reasons = [Reason("template", round(min(0.3, 0.1 * math.log10(c.n_ads) + 0.05), 3),
                          f"{c.n_ads} ads share one template ({100 * c.fixed_share:.0f}% of its "
                          f"words fixed, {len(c.slots)} variable slots)")]
        if c.n_cities >= 2:
            reasons.append(Reason("cities", round(min(0.2, 0.04 * (c.n_cities - 1)), 3),
                                  f"posted in {c.n_cities} cities"))
        if c.n_sites >= 2:
            reasons.append(Reason("sites", round(min(0.15, 0.05 * (c.n_sites - 1)), 3),
                                  f"posted on {c.n_sites} sites"))
        if len(own_phones) >= 2:
            reasons.append(Reason("phone_rotation", round(min(0.2, 0.04 * len(own_phones)), 3),
                                  f"{len(own_phones)} different phone numbers in one template"))
        if hubs_used:
            reasons.append(Reason("shared_number", 0.05,
                                  f"names {hubs_used[0]}, a number also given by "
                                  f"{hub_df[hubs_used[0]]} ads of unrelated templates"))
        nets = {int(net_labels[i]) for i in idx if contacts[i]}
        if len(nets) >= 2:
            reasons.append(Reason("networks", round(min(0.1, 0.03 * len(nets)), 3),
                                  f"its ads fall in {len(nets)} separate contact networks"))
        burst = _span_reason(c.n_ads, c.span_days)
        if burst:
            reasons.append(burst)
        leads.append(attach(Lead(
            f"T{c.cluster_id}", "template", min(1.0, sum(r.points for r in reasons)), reasons,
            c.n_ads, c.n_sites, c.n_cities, c.first_posted, c.last_posted, c.template,
            [ad_ids[c.example_index]] + [ad_ids[i] for i in idx[:examples]
                                         if i != c.example_index][:examples - 1],
            c.parts), idx))
    n_order = np.argsort(net_labels, kind="stable")
    n_starts = np.searchsorted(net_labels[n_order], np.arange(int(net_labels.max(initial=-1)) + 2))
    for s in network_summaries:
        if s.n_ads < min_ads:
            continue
        idx = n_order[n_starts[s.network_id]:n_starts[s.network_id + 1]]
        n_templates = len({int(labels[i]) for i in idx})
        reasons = [Reason("network", round(min(0.3, 0.1 * math.log10(s.n_ads) + 0.05), 3),
                          f"{s.n_ads} ads linked by {s.n_contacts} shared contact point(s)")]
        if n_templates >= 2:
            reasons.append(Reason("templates", round(min(0.2, 0.05 * (n_templates - 1)), 3),
                                  f"the same contact points appear under {n_templates} "
                                  "different ad texts"))
        if s.n_cities >= 2:
            reasons.append(Reason("cities", round(min(0.2, 0.04 * (s.n_cities - 1)), 3),
                                  f"posted in {s.n_cities} cities"))
        if s.n_sites >= 2:
            reasons.append(Reason("sites", round(min(0.15, 0.05 * (s.n_sites - 1)), 3),
                                  f"posted on {s.n_sites} sites"))
        if not math.isnan(s.growth) and s.growth >= 1.5:
            reasons.append(Reason("growth", 0.05, f"posting grew {s.growth:.1f}× from the first "
                                  "to the second half of its span"))
        burst = _span_reason(s.n_ads, s.span_days)
        if burst:
            reasons.append(burst)
        leads.append(attach(Lead(
            f"N{s.network_id}", "network", min(1.0, sum(r.points for r in reasons)), reasons,
            s.n_ads, s.n_sites, s.n_cities, s.first_posted, s.last_posted,
            "; ".join(s.contacts), [ad_ids[i] for i in idx[:examples]]), idx))
    leads.sort(key=lambda ld: (-ld.score, -ld.n_ads, ld.lead_id))
    return leads


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;
vertical-align:top;text-align:left}mark{background:#ffe08a;padding:0 .15em;border-radius:3px}
.note{background:#eef4ff;padding:.8em;border-radius:6px}.t{font-size:.9em;max-width:40em}
.score{font-weight:bold}ul{margin:0;padding-left:1.1em}"""


def _hits_html(ld: Lead) -> str:
    """The indicator hits of a lead's top ad: each term in context, with indicator and source."""
    e = html.escape
    items = []
    for h in ld.indicator_hits[:12]:
        t = ld.indicator_text
        ctx = (f"…{e(t[max(0, h.start - 40):h.start])}<mark>{e(t[h.start:h.end])}</mark>"
               f"{e(t[h.end:h.end + 40])}…") if t else f"<mark>{e(h.matched)}</mark>"
        items.append(f"<li><b>{e(h.name)}</b>: {ctx} <small>(term “{e(h.term)}”, "
                     f"{e(h.language)}; ILO: {e(h.ilo)}; {e(', '.join(h.sources))})</small></li>")
    return (f"<li>indicators in ad {e(ld.indicator_ad)}:<ul class=hits>{''.join(items)}</ul>"
            "</li>")


def render_html(leads: Sequence[Lead], n_ads: int, n_leads: int) -> str:
    """A self-contained, escaped HTML report of ``leads`` (see the module docstring)."""
    e = html.escape
    rows = []
    for rank, ld in enumerate(leads, 1):
        if ld.parts:
            text = " ".join(f"<mark>{e(t)}</mark>" if slot else e(t) for slot, t in ld.parts)
        else:
            text = e(ld.description)
        reasons = "".join(f"<li>{e(r.text)} <small>(+{r.points:.2f})</small></li>"
                          for r in ld.reasons)
        if ld.indicator_hits:
            reasons += _hits_html(ld)
        rows.append(
            f"<tr><td>{rank}</td><td>{e(ld.lead_id)}<br><small>{e(ld.kind)}</small></td>"
            f"<td class=score>{ld.score:.2f}</td><td><ul>{reasons}</ul></td>"
            f"<td>{ld.n_ads} ads · {ld.n_sites} sites · {ld.n_cities} cities<br>"
            f"<small>{e(ld.first_posted)} – {e(ld.last_posted)}</small></td>"
            f"<td class=t>{text}<br><small>examples: {e(', '.join(ld.example_ad_ids))}"
            f"</small></td></tr>")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>safelight detect — leads</title><style>{_CSS}</style></head><body>"
        "<h1>Leads for review</h1>"
        "<p class=note>These are <b>leads for a human</b>, never verdicts: a template shared by "
        "many ads or a phone number shared across ads is a pattern worth a look, and most such "
        "patterns are innocent. Each score is the sum of the reasons listed next to it. "
        "Highlighted words are the template's variable slots; under the reasons, highlighted "
        "words are indicator terms, each with its indicator and source. Indicators are only "
        "ever combined: a single one never flags an ad.</p>"
        f"<p>{n_ads} ads analysed, {n_leads} leads; showing the first {len(leads)}.</p>"
        "<table><tr><th>#</th><th>lead</th><th>score</th><th>reasons</th><th>reach</th>"
        f"<th>template / contact points</th></tr>{''.join(rows)}</table></body></html>")
