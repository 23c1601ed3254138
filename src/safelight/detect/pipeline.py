"""The detect pipeline: read ads, extract contacts, cluster templates, build networks and leads.

Contract
--------
* :func:`read_ads` reads a CSV/JSON/JSONL/Parquet/XLSX file through
  :mod:`safelight.ingest.readers` into an :class:`AdTable` (texts in a compact
  :class:`~safelight.detect.columns.TextColumn`). A row without id or text, a repeated
  id (the first wins) and a row the reader could not parse are *quarantined* with their line,
  rule and reason — never dropped: ``rows_read == len(ads) + len(quarantine)``. File-level
  faults raise :class:`~safelight.errors.InputFileError`; a missing column raises
  :class:`~safelight.errors.UsageError` naming the columns that exist.
* :func:`analyse` runs the stages on an :class:`AdTable` and returns an :class:`Analysis`:
  contact points and indicator hits per ad (:mod:`safelight.detect.indicators`), optionally
  a recruitment-fraud probability per ad (:mod:`safelight.detect.fraud`), template clusters,
  contact networks and leads.
* :func:`write_outputs` writes ``clusters.csv`` (``ad_id,cluster_id``), ``networks.csv``
  (``ad_id,network_id,contact_points``), ``templates.csv``, ``network_summary.csv``,
  ``hubs.csv``, ``ad_scores.csv`` (indicator score, flag and every hit explained, fraud
  probability and its reasons), ``leads.csv``, ``leads.html``, ``quarantine.csv`` and
  ``summary.json`` (counts, settings, software version) into a folder. From ``fork_from``
  ads on (and where fork exists) a forked child process writes the first 70% of
  ``ad_scores.csv`` while the calling process writes the other files and the rest of it: the
  same bytes; a child that fails raises :class:`~safelight.errors.SafelightError` naming the
  file. ``ad_scores.csv`` gets its name only when complete, and ``summary.json`` and
  ``settings.json`` are written last: a folder holding ``summary.json`` holds every file
  complete.
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import multiprocessing.process
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pyarrow as pa

from safelight import __version__
from safelight.detect.columns import TextColumn
from safelight.detect.contacts import extract_contacts, forget_numbers
from safelight.detect.fraud import FraudModel
from safelight.detect.indicators import (
    IndicatorScore,
    IndicatorTable,
    Lexicon,
    forget_all_words,
    load_lexicon,
    score_text,
)
from safelight.detect.leads import Lead, build_leads, render_html
from safelight.detect.networks import (
    NetworkResult,
    NetworkSummary,
    contact_networks,
    summarise_networks,
)
from safelight.detect.parallel import WorkerPools, shared_texts
from safelight.detect.templates import (
    ClusterResult,
    ClusterSettings,
    ClusterSummary,
    cluster_ads,
    summarise_clusters,
)
from safelight.errors import SafelightError, UsageError
from safelight.interrupts import worker_default_sigterm

__all__ = ["AdTable", "Analysis", "analyse", "extract_all", "read_ads", "score_all",
           "write_outputs"]

log = logging.getLogger("safelight.detect.pipeline")


@dataclass
class AdTable:
    """Ads as parallel columns (optional columns hold ``""`` when absent): lists, or compact
    :class:`~safelight.detect.columns.TextColumn` s (what :func:`read_ads` gives for every
    column: at a million ads the Python strings of ids, sites, cities, dates and regions
    would take about 0.4 GB, and worker processes that read them would copy their pages)."""

    ad_id: Sequence[str] = field(default_factory=list)
    text: Sequence[str] = field(default_factory=list)
    site: Sequence[str] = field(default_factory=list)
    city: Sequence[str] = field(default_factory=list)
    posted_at: Sequence[str] = field(default_factory=list)
    region: Sequence[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ad_id)


@dataclass
class Analysis:
    """Everything :func:`analyse` found, plus its timings and the quarantine it was given."""

    ads: AdTable
    contacts: list[list[str]]
    clusters: ClusterResult
    cluster_summaries: list[ClusterSummary]
    networks: NetworkResult
    network_summaries: list[NetworkSummary]
    leads: list[Lead]
    settings: ClusterSettings
    timings: dict[str, float]
    quarantine: list[dict[str, str]] = field(default_factory=list)
    rows_read: int = 0
    indicators: Sequence[IndicatorScore] = field(default_factory=list)
    fraud: np.ndarray | None = None
    fraud_reasons: list[str] = field(default_factory=list)
    lexicon_path: str = ""
    fraud_model_info: dict[str, object] = field(default_factory=dict)

    def n_flagged(self) -> int:
        """Ads flagged by the indicator score."""
        x = self.indicators
        if isinstance(x, IndicatorTable):
            return int(x.flagged.sum())
        return sum(1 for sc in x if sc.flagged)

    def n_with_hits(self) -> int:
        """Ads with at least one indicator hit."""
        x = self.indicators
        if isinstance(x, IndicatorTable):
            return x.n_with_hits()
        return sum(1 for sc in x if sc.indicators)


def read_ads(path: str | Path, text_column: str = "text", id_column: str = "id",
             site_column: str | None = "site", city_column: str | None = "city",
             posted_column: str | None = "posted_at", region_column: str | None = "region",
             default_region: str = "US") -> tuple[AdTable, list[dict[str, str]], int]:
    """(ads, quarantined rows, rows read) from ``path`` (see the module docstring).

    Optional columns that the file lacks are left empty; ``text_column`` and ``id_column`` must
    exist. ``region`` falls back to ``default_region`` for every ad without one.
    """
    from safelight.ingest.readers import ROW, open_reader

    reader = open_reader(path)
    columns = list(reader.columns)
    for name in (text_column, id_column):
        if name not in columns:
            raise UsageError(f"{path}: no column {name!r}; the file has {', '.join(columns)} — "
                             "name the right one with --text-column / --id-column")
    quarantine: list[dict[str, str]] = []
    seen: set[str] = set()
    rows_read = 0

    def col(table: object, name: str | None, size: int) -> list[str]:
        if name and name in columns:
            return [v or "" for v in table.column(name).to_pylist()]  # type: ignore[attr-defined]
        return [""] * size

    names = ("ad_id", "text", "site", "city", "posted_at", "region")
    parts: dict[str, list[TextColumn]] = {k: [] for k in names}
    for chunk in reader.chunks():
        got: dict[str, list[str]] = {k: [] for k in names}
        rows_read += chunk.rows_read
        for bad in chunk.bad:
            quarantine.append({"row": str(bad.row), "rule": bad.rule, "message": bad.message,
                               "raw": bad.raw[:2000]})
        t = chunk.table
        size = t.num_rows
        rows = [str(r) for r in t.column(ROW).to_pylist()]
        ids = col(t, id_column, size)
        texts = col(t, text_column, size)
        sites = col(t, site_column, size)
        cities = col(t, city_column, size)
        posted = col(t, posted_column, size)
        regions = col(t, region_column, size)
        for k in range(size):
            ad_id, text = ids[k].strip(), texts[k]
            problems = []
            if not ad_id:
                problems.append(("missing_record_id", f"column {id_column!r} is empty"))
            elif ad_id in seen:
                problems.append(("duplicate_record_id", f"id {ad_id!r} was used earlier "
                                 "in the file (the first row wins)"))
            if not text.strip():
                problems.append(("missing_value", f"column {text_column!r} is empty"))
            if problems:
                quarantine.append({"row": rows[k], "rule": ";".join(p[0] for p in problems),
                                   "message": "; ".join(p[1] for p in problems),
                                   "raw": json.dumps({"id": ad_id, "text": text[:500]},
                                                     ensure_ascii=False)})
                continue
            seen.add(ad_id)
            got["ad_id"].append(ad_id)
            got["text"].append(text)
            got["site"].append(sites[k].strip())
            got["city"].append(cities[k].strip())
            got["posted_at"].append(posted[k].strip())
            got["region"].append((regions[k].strip() or default_region).upper())
        for k in names:
            parts[k].append(TextColumn.from_texts(got[k]))
    ads = AdTable(*(TextColumn.concat(parts[k]) for k in names))
    del parts
    pa.default_memory_pool().release_unused()  # the reader's freed buffers, back to the system
    return ads, quarantine, rows_read


def _extract_chunk(args: tuple[list[str], list[str]]) -> list[list[str]]:
    texts, regions = args
    return [[c.key for c in extract_contacts(t, r)] for t, r in zip(texts, regions, strict=True)]


def _extract_range(args: tuple[int, int, list[str]]) -> list[list[str]]:
    """Contact keys of the shared texts ``lo:hi`` (see :mod:`safelight.detect.parallel`)."""
    lo, hi, regions = args
    return _extract_chunk((shared_texts(lo, hi), regions))


def _indicator_chunk(args: tuple[list[str], str]) -> list[IndicatorScore]:
    texts, lexicon_path = args
    lex = load_lexicon(lexicon_path)
    return [score_text(t, lex) for t in texts]


def _indicator_packed(args: tuple[int, int, str]) -> list[tuple[np.ndarray, ...]]:
    """The indicator scores of the shared texts ``lo:hi`` as the compact arrays of
    :class:`IndicatorTable` (a list of one, so that chunks concatenate like the others)."""
    lo, hi, path = args
    return [IndicatorTable.pack_texts(shared_texts(lo, hi), load_lexicon(path))]


def _in_chunks(fn, parts: list, workers: int) -> list:  # noqa: ANN001
    if workers <= 1 or len(parts) <= 1:
        return [k for p in parts for k in fn(p)]
    with ProcessPoolExecutor(max_workers=workers, initializer=worker_default_sigterm) as pool:
        return [k for res in pool.map(fn, parts) for k in res]


def _contact_parts(texts: Sequence[str], regions: Sequence[str], chunk: int
                   ) -> list[tuple[list[str], list[str]]]:
    return [(list(texts[i:i + chunk]), list(regions[i:i + chunk]))
            for i in range(0, len(texts), chunk)]


def extract_all(texts: Sequence[str], regions: Sequence[str], workers: int = 1,
                chunk: int = 5_000) -> list[list[str]]:
    """Contact keys of every ad; with ``workers > 1`` chunks run in worker processes."""
    return _in_chunks(_extract_chunk, _contact_parts(texts, regions, chunk), workers)


def score_all(texts: Sequence[str], lexicon: Lexicon, workers: int = 1,
              chunk: int = 5_000) -> list[IndicatorScore]:
    """Indicator score (hits, score, flag) of every ad; chunks in worker processes."""
    parts = [(list(texts[i:i + chunk]), lexicon.path) for i in range(0, len(texts), chunk)]
    return _in_chunks(_indicator_chunk, parts, workers)


class _Background:
    """Per-ad work (contacts, indicators) submitted to the background workers at once,
    collected when first needed: the main process clusters meanwhile. Without workers it
    runs inline, at collection time."""

    def __init__(self, pool: Executor | None) -> None:
        self.pool = pool
        self.jobs: dict[str, tuple[object, list]] = {}
        self.waited: dict[str, float] = {}

    def submit(self, name: str, fn, parts: list) -> None:  # noqa: ANN001
        if self.pool is not None and len(parts) > 1:
            self.jobs[name] = (fn, [self.pool.submit(fn, p) for p in parts])
        else:
            self.jobs[name] = (fn, parts)

    def result(self, name: str) -> list:
        t = time.perf_counter()
        fn, items = self.jobs.pop(name)
        if self.pool is not None and items and hasattr(items[0], "result"):
            out = [k for f in items for k in f.result()]
        else:
            out = [k for p in items for k in fn(p)]  # type: ignore[operator]
        self.waited[name] = time.perf_counter() - t
        return out


def analyse(ads: AdTable, settings: ClusterSettings | None = None, workers: int = 1,
            quarantine: list[dict[str, str]] | None = None, rows_read: int | None = None,
            lexicon: Lexicon | None = None, indicators: bool = True,
            fraud_model: FraudModel | None = None, chunk: int = 5_000) -> Analysis:
    """Run contact extraction, indicators, the fraud model (if given), template clustering,
    contact networks and leads on ``ads``.

    With ``workers > 1`` (:class:`~safelight.detect.parallel.WorkerPools`) contact
    extraction and indicators run in background worker processes, at a lower CPU priority,
    *while* the main process clusters (the clustering needs the contacts only from its
    verification step on); ``timings["contacts"]`` and ``timings["indicators"]`` are then the
    time the main process waited for them. The clustering's per-range work (tokens, MinHash
    signatures) and the cluster summaries run in a second pool of ``workers`` processes. The
    workers read the texts and columns from the memory they were forked with; the results are
    the same as with ``workers=1``.
    """
    lex = lexicon or load_lexicon()
    try:
        return _analyse(ads, settings or ClusterSettings(), workers, quarantine, rows_read, lex,
                        indicators, fraud_model, chunk)
    finally:  # nothing of these ads stays in the process's caches
        forget_numbers()
        forget_all_words()  # ``lex`` and any lexicon the indicator step loaded by path


def _analyse(ads: AdTable, s: ClusterSettings, workers: int,
             quarantine: list[dict[str, str]] | None, rows_read: int | None, lex: Lexicon,
             indicators: bool, fraud_model: FraudModel | None, chunk: int) -> Analysis:
    timings: dict[str, float] = {}
    # the workers read the texts by range from the forked memory (see safelight.detect.parallel)
    pools = WorkerPools(workers, ads.text, site=ads.site, city=ads.city,
                        posted_at=ads.posted_at)
    bg = _Background(pools.background)
    try:
        n = len(ads)
        regions = ads.region or ["US"] * n
        bg.submit("contacts", _extract_range,
                  [(i, min(n, i + chunk), list(regions[i:i + chunk])) for i in range(0, n, chunk)])
        if indicators:
            bg.submit("indicators", _indicator_packed,
                      [(i, min(n, i + chunk), lex.path) for i in range(0, n, chunk)])
        fraud = None
        fraud_reasons: list[str] = []
        if fraud_model is not None:
            t = time.perf_counter()
            fraud = fraud_model.predict_proba(ads.text, fraud_model.prevalence)
            fraud_reasons = ["; ".join(f"{d} ({v:+.2f})" for d, v in
                                       fraud_model.reasons(ads.text[i], 3))
                             if fraud[i] >= 0.5 else "" for i in range(len(ads))]
            timings["fraud_model"] = time.perf_counter() - t
        got: dict[str, list[list[str]]] = {}

        def contacts_now() -> list[list[str]]:
            if "c" not in got:
                got["c"] = bg.result("contacts")
            return got["c"]

        t = time.perf_counter()
        clusters = cluster_ads(ads.text, s, contacts_now, pool=pools)
        contacts = contacts_now()
        timings["clusters"] = time.perf_counter() - t - bg.waited["contacts"]
        timings["contacts"] = bg.waited["contacts"]
        scores: Sequence[IndicatorScore] = []
        if indicators:
            scores = IndicatorTable.concat(bg.result("indicators"), ads.text, lex)
            timings["indicators"] = bg.waited["indicators"]
        # templates are summarised in the cluster workers (a thread here waits for them) while
        # this thread builds the contact networks, which do not need them
        t = time.perf_counter()
        with ThreadPoolExecutor(1) as waiter:
            summaries_job = waiter.submit(summarise_clusters, ads.text, clusters.labels,
                                          ads.site, ads.city, ads.posted_at, pool=pools)
            t_net = time.perf_counter()
            # the clustering's whole-text signatures are the ones the hub test would compute
            networks = contact_networks(contacts, ads.text, signatures=clusters.signatures)
            hub_keys = [h[0] for h in networks.hubs]
            net_summaries = summarise_networks(networks.labels, contacts, hub_keys, ads.site,
                                               ads.city, ads.posted_at)
            timings["networks"] = time.perf_counter() - t_net
            summaries = summaries_job.result()
        timings["templates"] = time.perf_counter() - t  # networks included (they overlap)
    finally:
        pools.close()
    t = time.perf_counter()
    leads = build_leads(ads.ad_id, contacts, clusters.labels, summaries, networks,
                        net_summaries, indicator_scores=scores or None, fraud=fraud,
                        texts=ads.text)
    timings["leads"] = time.perf_counter() - t
    return Analysis(ads, contacts, clusters, summaries, networks, net_summaries, leads, s,
                    timings, quarantine or [], rows_read if rows_read is not None else len(ads),
                    scores, fraud, fraud_reasons, lex.path if indicators else "",
                    dict(fraud_model.info) if fraud_model is not None else {})


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    """Write ``rows`` (any iterable: the per-ad files are streamed, not built in memory)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _ad_score_rows(a: Analysis, lo: int = 0, hi: int | None = None
                   ) -> Iterable[tuple[object, ...]]:
    """The rows of ``ad_scores.csv`` of ads ``lo:hi``, one ad at a time (each ad's hits are
    built once)."""
    hi = len(a.ads) if hi is None else hi
    ids = a.ads.ad_id if (lo, hi) == (0, len(a.ads)) else a.ads.ad_id[lo:hi]
    has = len(a.indicators) > 0
    if isinstance(a.indicators, IndicatorTable):  # the same strings, without building hits
        table = a.indicators
        score, flagged = table.score[lo:hi].tolist(), table.flagged[lo:hi].tolist()
        for k, ad_id in enumerate(ids):
            i = lo + k
            inds, hits = table.explained(i)
            yield (ad_id, round(score[k], 4), int(flagged[k]), inds, hits,
                   round(float(a.fraud[i]), 4) if a.fraud is not None else "",
                   a.fraud_reasons[i] if a.fraud_reasons else "")
        return
    for k, ad_id in enumerate(ids):
        i = lo + k
        sc = a.indicators[i] if has else None
        yield (ad_id,
               round(sc.score, 4) if sc else "",
               int(sc.flagged) if sc else "",
               ";".join(sc.indicators) if sc else "",
               " | ".join(sc.reasons()) if sc else "",
               round(float(a.fraud[i]), 4) if a.fraud is not None else "",
               a.fraud_reasons[i] if a.fraud_reasons else "")


_AD_SCORES_HEADER = ["ad_id", "indicator_score", "indicator_flag", "indicators", "hits",
                     "fraud_probability", "fraud_reasons"]


def _write_ad_scores(a: Analysis, path: Path, lo: int = 0, hi: int | None = None,
                     header: bool = True) -> None:
    """``ad_scores.csv`` rows of ads ``lo:hi`` (with the header line when ``header``)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(_AD_SCORES_HEADER)
        w.writerows(_ad_score_rows(a, lo, hi))


def _ad_scores_child(a: Analysis, path: Path, hi: int, conn: Connection) -> None:
    """The body of the forked writer process: the header and the rows of ads ``0:hi`` of
    ``ad_scores.csv``, then a word to the parent (``""`` when written, else what went
    wrong)."""
    try:
        _write_ad_scores(a, path, 0, hi)
        conn.send("")
    except BaseException as e:  # noqa: BLE001 — reported to the parent, which raises
        conn.send(f"{type(e).__name__}: {e}")
    finally:
        conn.close()


class _AdScoresWriter:
    """Writes ``ad_scores.csv`` — the largest file, one formatted row per ad. From
    ``fork_from`` ads on (where fork exists), a forked child writes the header and the first
    ``share`` of the ads into a hidden temporary file while the calling process writes the
    other files and then the rest of the ads into a part file, appended when the child is done
    (the same bytes as one pass: a CSV row does not depend on the rows before it); else it is
    written inline into the temporary file. The file gets its name only when complete
    (``os.replace``): a failure leaves no ``ad_scores.csv`` and no temporary file. The child
    reads the analysis from the memory it was forked with (nothing is pickled)."""

    def __init__(self, a: Analysis, path: Path, fork_from: int, share: float = 0.7) -> None:
        self.a, self.path = a, path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.part = path.with_name(f".{path.name}.part")
        self.proc: multiprocessing.process.BaseProcess | None = None
        n = len(a.ads)
        if n < fork_from or "fork" not in multiprocessing.get_all_start_methods():
            return  # written inline by finish()
        self.cut = min(n, max(0, round(share * n)))
        ctx = multiprocessing.get_context("fork")
        self.conn, child_conn = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_ad_scores_child,
                                args=(a, self.tmp, self.cut, child_conn),
                                name="safelight-detect-ad-scores", daemon=True)
        self.proc.start()
        child_conn.close()

    def finish(self) -> None:
        """Write this process's share of the rows (after the child's), wait for the child,
        join the two and give the file its name; raise :class:`SafelightError` if the child
        could not write. On any failure nothing of the file is left."""
        done = False
        try:
            if self.proc is None:
                _write_ad_scores(self.a, self.tmp)
            else:
                _write_ad_scores(self.a, self.part, self.cut, None, header=False)
                self._join()
                with open(self.tmp, "ab") as out, open(self.part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            os.replace(self.tmp, self.path)
            done = True
        finally:
            if self.proc is not None and self.proc.exitcode is None:
                self.proc.join()  # our part failed: the child is still waited for
            self.part.unlink(missing_ok=True)
            if not done:
                self.tmp.unlink(missing_ok=True)

    def abandon(self) -> None:
        """Wait for the child and remove every trace of the file (another output failed)."""
        if self.proc is not None:
            self.proc.join()
        for f in (self.tmp, self.part):
            f.unlink(missing_ok=True)

    def _join(self) -> None:
        try:
            msg = self.conn.recv()
        except EOFError:
            msg = "the writer process ended without a word"
        self.proc.join()  # type: ignore[union-attr]
        self.conn.close()
        code = self.proc.exitcode  # type: ignore[union-attr]
        if msg or code:
            raise SafelightError(f"{self.path}: could not be written ({msg or 'exit code '}"
                                 f"{'' if msg else code}) — check the free space and "
                                 "permissions of the output folder, then run again")


def write_outputs(analysis: Analysis, out_dir: str | Path, html_limit: int = 200,
                  fork_from: int = 50_000) -> Path:
    """Write the output files (see the module docstring) into ``out_dir``; returns the folder.

    From ``fork_from`` ads on, most of ``ad_scores.csv`` is written by a forked process
    meanwhile (the same bytes)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    a = analysis
    scores_writer = (_AdScoresWriter(a, out / "ad_scores.csv", fork_from)
                     if a.indicators or a.fraud is not None else None)
    try:
        _write_others(a, out, html_limit)
    except BaseException:  # the child is waited for in any case; ours is the error raised
        if scores_writer is not None:
            scores_writer.abandon()
        raise
    if scores_writer is not None:
        scores_writer.finish()
    _write_summary(a, out)  # last: a folder with summary.json holds every file complete
    return out


def _write_others(a: Analysis, out: Path, html_limit: int) -> None:
    """Every output file but ``ad_scores.csv``."""
    ids = a.ads.ad_id
    # ids are iterated (a compact column reads them chunk by chunk), not indexed one by one
    _write_csv(out / "clusters.csv", ["ad_id", "cluster_id"],
               zip(ids, a.clusters.labels.tolist(), strict=True))
    _write_csv(out / "networks.csv", ["ad_id", "network_id", "contact_points"],
               ((ad_id, c, ";".join(keys)) for ad_id, c, keys in
                zip(ids, a.networks.labels.tolist(), a.contacts, strict=True)))
    _write_csv(out / "templates.csv",
               ["cluster_id", "n_ads", "n_sites", "n_cities", "first_posted", "last_posted",
                "span_days", "fixed_share", "n_slots", "template", "example_ad_id"],
               [(c.cluster_id, c.n_ads, c.n_sites, c.n_cities, c.first_posted, c.last_posted,
                 round(c.span_days, 2), round(c.fixed_share, 3), len(c.slots), c.template,
                 ids[c.example_index]) for c in a.cluster_summaries])
    _write_csv(out / "network_summary.csv",
               ["network_id", "n_ads", "n_contacts", "contacts", "n_sites", "n_cities",
                "first_posted", "last_posted", "span_days", "growth"],
               [(n.network_id, n.n_ads, n.n_contacts, ";".join(n.contacts), n.n_sites,
                 n.n_cities, n.first_posted, n.last_posted, round(n.span_days, 2),
                 round(n.growth, 3)) for n in a.network_summaries])
    _write_csv(out / "hubs.csv", ["contact_point", "n_ads", "text_coherence", "reason"],
               [(k, d, round(c, 3), "named by many ads of unrelated templates; not used to link")
                for k, d, c in a.networks.hubs])
    _write_csv(out / "leads.csv",
               ["rank", "lead_id", "kind", "score", "n_ads", "n_sites", "n_cities",
                "first_posted", "last_posted", "reasons", "template_or_contacts",
                "example_ad_ids", "indicator_hits"],
               [(r, ld.lead_id, ld.kind, round(ld.score, 3), ld.n_ads, ld.n_sites, ld.n_cities,
                 ld.first_posted, ld.last_posted, " | ".join(x.text for x in ld.reasons),
                 ld.description, ";".join(ld.example_ad_ids),
                 " | ".join(f"{ld.indicator_ad}: {h.explain()}" for h in ld.indicator_hits))
                for r, ld in enumerate(a.leads, 1)])
    _write_csv(out / "quarantine.csv", ["row", "rule", "message", "raw"],
               [(q["row"], q["rule"], q["message"], q["raw"]) for q in a.quarantine])
    (out / "leads.html").write_text(render_html(a.leads[:html_limit], len(a.ads),
                                                len(a.leads)), "utf-8")


def _summary(a: Analysis) -> dict:
    """The contents of ``summary.json``: counts, timings and settings of the analysis."""
    return {
        "software": f"safelight {__version__}",
        "rows_read": a.rows_read, "ads": len(a.ads), "quarantined": len(a.quarantine),
        "clusters_2plus": len(a.cluster_summaries), "networks_2plus": len(a.network_summaries),
        "hub_contact_points": len(a.networks.hubs), "leads": len(a.leads),
        "indicator_flagged_ads": a.n_flagged(),
        "ads_with_indicator_hits": a.n_with_hits(),
        "fraud_probability_ge_0_5": (int((a.fraud >= 0.5).sum()) if a.fraud is not None
                                     else None),
        "boilerplate_examples": [b[0] for b in a.clusters.boilerplate[:15]],
        "timings_s": {k: round(v, 3) for k, v in {**a.timings, **{
            f"clusters.{k}": v for k, v in a.clusters.timings.items()}}.items()},
        "cluster_settings": a.settings.as_dict(),
        "links": {"candidates": a.clusters.n_candidates,
                  "lsh_neighbours": a.clusters.lsh_neighbours, "verified": a.clusters.n_verified,
                  "accepted": a.clusters.n_accepted, "vetoed_by_contacts": a.clusters.n_vetoed,
                  "unsupported": a.clusters.n_unsupported},
        "note": "leads for human review, never verdicts; every score lists its reasons",
    }


def _write_summary(a: Analysis, out: Path) -> None:
    """``summary.json`` and ``settings.json``, written after every other file is complete."""
    (out / "summary.json").write_text(json.dumps(_summary(a), indent=2, ensure_ascii=False),
                                      "utf-8")
    (out / "settings.json").write_text(json.dumps(
        {"version": 1, "software": __version__, "cluster": a.settings.as_dict(),
         "lexicon": a.lexicon_path, "fraud_model": a.fraud_model_info}, indent=2),
        "utf-8")

