"""``safelight demo``: the whole flow on the generated multi-agency scenario.

Generates the scenario (``safelight.demo.generator``), creates a fresh hub, ingests every
contributor's export with its own profile, runs every later stage that exists, and writes a
self-contained HTML summary (no external requests) next to the hub.

The summary publishes aggregates only, and every count below the suppression threshold is shown
as ``<k`` — the same rule releases follow.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from safelight import __version__
from safelight.demo.generator import read_truth
from safelight.errors import UsageError
from safelight.ingest import ingest_file, load_profile
from safelight.standard import geography
from safelight.standard.codelists import codelist
from safelight.store import open_hub

log = logging.getLogger("safelight.demo")

SUPPRESS_BELOW = 11  # CTDC's k


def _suppress(n: int) -> str:
    return f"<{SUPPRESS_BELOW}" if 0 < n < SUPPRESS_BELOW else f"{n:,}"


def _distribution(con, column: str, *, multi: bool = False, codes: str | None = None,
                  countries: bool = False) -> list[dict[str, Any]]:
    """Counts of ``column`` among cases consented to statistics, small counts suppressed.

    ``codes`` names a code list: values are shown with their labels, in code-list order.
    ``countries`` shows country names. Otherwise rows are ordered by count.
    """
    expr = f"unnest({column})" if multi else column
    rows = con.execute(f"""
        SELECT v, count(*) AS n FROM (
            SELECT {expr} AS v FROM cases WHERE consent_statistics) GROUP BY 1 ORDER BY n DESC, v""").fetchall()
    total = con.execute("SELECT count(*) FROM cases WHERE consent_statistics").fetchone()[0] or 1
    order: dict[str, int] = {}
    label = str
    if codes:
        cl = codelist(codes)
        order = {c: i for i, c in enumerate(cl.codes)}
        label = lambda v: cl.codes[v].label if v in cl.codes else v  # noqa: E731
    elif countries:
        def label(v: str) -> str:
            try:
                return f"{geography.country(v).name} ({v})"
            except KeyError:
                return v
    if order:
        rows.sort(key=lambda r: order.get(r[0], len(order)) if r[0] is not None else len(order) + 1)
    return [{"value": label(v) if v is not None else "not recorded", "count": _suppress(n),
             "share": f"{100 * n / total:.1f}%" if n >= SUPPRESS_BELOW else "—"} for v, n in rows]


#: written into the scenario folder before the scenario, so that a demo stopped while it
#: generated (scenario.json is written last) may still be replaced by the next run
_DEMO_MARK = ".safelight-demo"


def _check_is_demo_scenario(folder: Path) -> None:
    """Refuse to replace ``folder`` unless it is empty or an earlier demo's scenario (its
    mark, or a ``scenario.json`` the demo generator wrote): ``safelight demo --out DIR``
    removed ``DIR/scenario`` whatever it held — a user's own folder of that name too."""
    if folder.is_symlink() or not folder.is_dir():
        raise UsageError(f"{folder} is a {'link' if folder.is_symlink() else 'file'}, where "
                         "the demo writes its scenario folder; choose another --out")
    if not any(folder.iterdir()) or (folder / _DEMO_MARK).is_file():
        return
    try:
        manifest = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("generator") != "safelight.demo":
        raise UsageError(f"{folder} exists and holds no demo scenario (no scenario.json of "
                         "the demo generator): the demo would replace it; choose another --out "
                         "or move that folder")


def run_demo(out_dir: Path, *, seed: int = 2023, n_records: int = 20_000, console: Any = None) -> Path:
    """Run the demo into ``out_dir``; returns the path of the HTML summary."""
    from safelight.demo.generator import generate_scenario

    out_dir = Path(out_dir)
    say = console.print if console is not None else log.info
    scenario_dir = out_dir / "scenario"
    if scenario_dir.exists() or scenario_dir.is_symlink():
        _check_is_demo_scenario(scenario_dir)
        shutil.rmtree(scenario_dir)
    scenario_dir.mkdir(parents=True)
    (scenario_dir / _DEMO_MARK).write_text("written by safelight demo\n", encoding="utf-8")
    t0 = dt.datetime.now()
    scenario = generate_scenario(scenario_dir, seed=seed, n_records=n_records)
    say(f"generated {sum(c.n_records for c in scenario.contributors):,} records from "
        f"{len(scenario.contributors)} contributors in {(dt.datetime.now() - t0).total_seconds():.1f} s")
    hub_path = out_dir / "hub.duckdb"
    for stale in (hub_path, hub_path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    results = []
    with open_hub(hub_path, create=True) as hub:
        for c in scenario.contributors:
            profile = load_profile(c.profile_path)
            with hub.transaction():
                hub.ensure_contributor(c.name, c.country)
            r = ingest_file(hub, c.path, contributor=c.name, profile=profile, actor="demo")
            say(f"  {c.name:<12} {Path(c.path).name:<28} {r.rows_read:>6,} read  {r.rows_accepted:>6,} accepted  "
                f"{r.rows_quarantined:>4,} quarantined  ({', '.join(f'{k} {n}' for k, n in r.top_rules) or 'none'})")
            results.append((c, r))
        summary = _summary(hub, scenario, results, seed)
    # later stages, in flow order
    with open_hub(hub_path) as hub:
        summary["linkage"] = _link(hub, scenario.truth_path, say)
        summary["totals"].update({k: v for k, v in hub.status().items() if k.startswith("persons")})
    report_html = _hub_report(hub_path, out_dir / "report", say)
    summary["report"] = str(report_html.relative_to(out_dir)) if report_html else None
    with open_hub(hub_path) as hub:
        summary["directory"] = _directory(hub, out_dir, say)
    summary_json = out_dir / "summary.json"
    summary_json.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str), "utf-8")
    html = out_dir / "summary.html"
    html.write_text(_render(summary), "utf-8")
    return html


def _link(hub, truth_path: Path, say) -> dict[str, Any]:
    """Record linkage over the demo hub, scored against the generator's truth."""
    import numpy as np

    from safelight.link.evaluate import pairwise_scores
    from safelight.link.hub import link_hub, summary

    t0 = dt.datetime.now()
    result = link_hub(hub, actor="demo")
    truth = read_truth(truth_path)
    rows = hub.con.execute("SELECT contributor, record_id, person_id FROM persons").fetchall()
    scored = [(p, truth[(c, r)]) for c, r, p in rows if (c, r) in truth]
    scores = pairwise_scores(np.array([p for p, _ in scored]), np.array([t for _, t in scored]))
    say(f"linkage: {result.records:,} records with consent to linkage → {result.persons:,} persons "
        f"({result.persons_in_several_contributors:,} seen by several agencies); against the truth: "
        f"precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, F1 {scores['f1']:.3f} "
        f"({(dt.datetime.now() - t0).total_seconds():.1f} s)")
    return {**summary(result), "scores": {k: round(v, 4) if isinstance(v, float) else v
                                          for k, v in scores.items()}}


def _directory(hub, out_dir: Path, say) -> dict[str, Any]:
    """The refer stage: a generated service directory in the demo's countries, its confidential
    locations sealed under a fresh operator key, and the public help finder built from it."""
    from safelight.refer import finder, vault
    from safelight.refer.directory import import_directory
    from safelight.refer.testdata import generate_directory

    t0 = dt.datetime.now()
    folder = out_dir / "directory"
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "operator.key"
    key_path.unlink(missing_ok=True)
    key = vault.new_key_file(key_path)
    source = folder / "directory.json"  # the operator's own file: confidential locations in clear
    source.write_text(json.dumps(generate_directory(2000), ensure_ascii=False), "utf-8")
    report = import_directory(hub, source, actor="demo", key=key)
    source.unlink()  # only the sealed copy in the hub remains
    sizes = finder.build_help_finder(hub, out_dir / "help")
    say(f"directory: {report.rows_accepted:,} HSDS objects accepted, {report.sealed_locations:,} confidential "
        f"locations sealed; help finder in {out_dir / 'help'} ({sizes['index.html'] // 1024} KB page, "
        f"{(dt.datetime.now() - t0).total_seconds():.1f} s)")
    return {"accepted": report.rows_accepted, "quarantined": report.rows_quarantined,
            "sealed_locations": report.sealed_locations, "help_finder": "help/index.html"}


def _hub_report(hub_path: Path, out: Path, say) -> Path | None:
    """The report stage over the demo hub: it counts persons, since linkage has run."""
    from safelight.report import ReportSettings, hub_report, hub_source, write_report

    t0 = dt.datetime.now()
    settings = ReportSettings(threshold=SUPPRESS_BELOW)
    with hub_source(hub_path, settings) as src:
        rep = hub_report(src, settings)
    paths = write_report(rep, out)
    say(f"hub report: {paths['html']} ({(dt.datetime.now() - t0).total_seconds():.1f} s)")
    return Path(paths["html"])


def _summary(hub, scenario, results, seed: int) -> dict[str, Any]:
    con = hub.con
    truth: dict[str, set[str]] = {}
    with open(scenario.truth_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth.setdefault(row["person_id"], set()).add(row["contributor"])
    persons = len(truth)
    multi = sum(1 for agencies in truth.values() if len(agencies) > 1)
    status = hub.status()
    return {
        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
        "software_version": __version__,
        "seed": seed,
        "suppression_threshold": SUPPRESS_BELOW,
        "contributions": [{
            "contributor": c.name, "country": c.country, "kind": getattr(c, "kind", ""),
            "file": Path(c.path).name, "format": Path(c.path).suffix.lstrip("."),
            "rows_read": r.rows_read, "accepted": r.rows_accepted, "quarantined": r.rows_quarantined,
            "top_rules": r.top_rules, "notes": r.notes} for c, r in results],
        "totals": {k: status[k] for k in ("cases", "identities", "quarantined_rows", "audit_entries")},
        "truth": {"persons": persons, "persons_registered_by_several_agencies": multi,
                  "share_multi": round(multi / persons, 3) if persons else 0.0},
        "distributions": {
            "gender": _distribution(con, "gender", codes="gender"),
            "age_band": _distribution(con, "age_band", codes="age_band"),
            "types_of_exploitation": _distribution(con, "types_of_exploitation", multi=True,
                                                   codes="type_of_exploitation"),
            "citizenship": _distribution(con, "citizenship", countries=True)[:15],
            "year_of_registration": sorted(_distribution(con, "CAST(year_of_registration AS VARCHAR)"),
                                           key=lambda r: r["value"]),
        },
        "audit": hub.verify_audit()[1],
    }


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>safelight demo — summary</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e3e3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555;font-size:.9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}
</style></head><body>
<h1>safelight demo — hub summary</h1>
<p class="note">Generated {{ s.generated_at }} by safelight {{ s.software_version }} from the built-in scenario (seed {{ s.seed }}).
All people in it are invented. Counts below {{ s.suppression_threshold }} are shown as &lt;{{ s.suppression_threshold }}; identity data never appears here.</p>
<h2>Contributions</h2>
<table><thead><tr><th>Contributor</th><th>Country</th><th>File</th><th>Rows read</th><th>Accepted</th><th>Quarantined</th><th>Top quarantine reasons</th></tr></thead><tbody>
{% for c in s.contributions %}<tr><td>{{ c.contributor }}</td><td>{{ c.country }}</td><td>{{ c.file }}</td>
<td class="n">{{ "{:,}".format(c.rows_read) }}</td><td class="n">{{ "{:,}".format(c.accepted) }}</td><td class="n">{{ "{:,}".format(c.quarantined) }}</td>
<td>{% for r, n in c.top_rules %}{{ r }} ({{ n }}){% if not loop.last %}, {% endif %}{% endfor %}</td></tr>{% endfor %}
</tbody></table>
<p>{{ "{:,}".format(s.totals.cases) }} cases and {{ "{:,}".format(s.totals.identities) }} identities in the hub;
{{ "{:,}".format(s.totals.quarantined_rows) }} rows quarantined with their reasons. Every row read was accepted or quarantined.
Audit log: {{ s.audit }}.</p>
<h2>Persons across agencies</h2>
<p>The scenario holds {{ "{:,}".format(s.truth.persons) }} persons, {{ "{:,}".format(s.truth.persons_registered_by_several_agencies) }}
({{ "%.1f" | format(100 * s.truth.share_multi) }}%) registered by two or more agencies (the generator's truth).</p>
{% if s.linkage %}<p>Record linkage (in clear) joined the {{ "{:,}".format(s.linkage.records) }} records whose consent allows it into
{{ "{:,}".format(s.linkage.persons) }} persons, {{ "{:,}".format(s.linkage.persons_in_several_contributors) }} of them seen by several agencies;
{{ "{:,}".format(s.linkage.review_pairs) }} uncertain pairs wait in the review queue. Scored against the truth, pairwise precision
{{ "%.3f" | format(s.linkage.scores.precision) }}, recall {{ "%.3f" | format(s.linkage.scores.recall) }},
F1 {{ "%.3f" | format(s.linkage.scores.f1) }}.</p>{% endif %}
<h2>Cases (consented to statistics)</h2>
<div class="grid">
{% for name, rows in s.distributions.items() %}<div><h3>{{ name.replace("_", " ") }}</h3><table><thead><tr><th>Value</th><th>Cases</th><th>Share</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.value }}</td><td class="n">{{ r.count }}</td><td class="n">{{ r.share }}</td></tr>{% endfor %}
</tbody></table></div>{% endfor %}
</div>
<p class="note">Records, not persons: a person registered by three agencies counts three times here.
Detected cases are not prevalence.</p>
{% if s.report %}<h2>Report</h2><p>The disclosure-controlled hub report with charts: <a href="{{ s.report }}">{{ s.report }}</a>.</p>{% endif %}
{% if s.directory %}<h2>Services</h2><p>A generated directory of services in the scenario's countries (Open Referral
HSDS 3.0): {{ "{:,}".format(s.directory.accepted) }} objects accepted, {{ s.directory.quarantined }} quarantined;
the real locations of {{ "{:,}".format(s.directory.sealed_locations) }} confidential shelters are sealed under the
operator's key and never appear in public output. The public help finder:
<a href="{{ s.directory.help_finder }}">{{ s.directory.help_finder }}</a>.</p>{% endif %}
</body></html>
"""


def _render(summary: dict[str, Any]) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(TEMPLATE).render(s=summary)

