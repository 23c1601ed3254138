"""Charts of report indicators, drawn with matplotlib (Agg, no display, no network).

Each chart function takes an :class:`~safelight.report.model.Indicator` and returns a
matplotlib ``Figure`` or ``None`` (nothing to draw). Only published cells are drawn: a suppressed
cell is a gap, never a value. Style: the Okabe–Ito colour-blind-safe palette, a marker and line
style per series (so series differ without colour), 11-pt labels, percentages on share axes,
thousands separators on count axes, and a source line under every chart.

:func:`render_chart` returns the chart as an inline SVG string (text drawn as paths: no font
needed to read it) and writes the same chart as SVG and PNG files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from safelight.report.model import Cell, Indicator  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", "-", "--", "-.", ":")

plt.rcParams.update({
    "font.size": 11, "axes.titlesize": 13, "axes.labelsize": 11, "legend.fontsize": 10,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.spines.top": False,
    "axes.spines.right": False, "svg.hashsalt": "safelight", "svg.fonttype": "path",
    "figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3,
})

_THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}")
SOURCE_NOTE = {"glotip": "Source: UNODC GLOTIP country data (dataUNODC export); safelight",
               "hub": "Source: safelight hub case records, counted as {unit}; safelight"}
GAPS_NOTE = " · gaps: values suppressed for disclosure control"


def source_note(ind: Indicator, source: str) -> str:
    """The line under a chart: where the data come from, what is counted, and what a gap is."""
    note = SOURCE_NOTE.get(source, source).format(
        unit="persons (after record linkage)" if ind.unit == "persons"
        else "records (not persons)" if ind.unit == "records" else ind.unit)
    return note + (GAPS_NOTE if any(c.suppressed for c in ind.cells) else "")


def _published(ind: Indicator) -> list[Cell]:
    return [c for c in ind.cells if not c.suppressed]


def _fig(width: float = 8.0, height: float = 4.5) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def _series_lines(ind: Indicator, group_key: str, groups: list[tuple[str, str]],
                  ylabel: str) -> Figure | None:
    fig, ax = _fig()
    drawn = False
    for i, (g, label) in enumerate(groups):
        cells = sorted((c for c in _published(ind) if c.key[group_key] == g and c.share
                        and isinstance(c.key["year"], int)), key=lambda c: c.key["year"])
        if not cells:
            continue
        x = [c.key["year"] for c in cells]
        ax.plot(x, [c.share.mid for c in cells], color=PALETTE[i], marker=MARKERS[i],
                linestyle=LINESTYLES[i], linewidth=2, markersize=6, label=label)
        ax.fill_between(x, [c.share.low for c in cells], [c.share.high for c in cells],
                        color=PALETTE[i], alpha=0.2, linewidth=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Year")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def chart_groups(ind: Indicator) -> Figure | None:
    """Shares of women, men, girls and boys per year, with bounds bands."""
    what = {"records_by_sex_age": "records", "persons_by_sex_age": "persons"}.get(
        ind.id, "detected victims")
    fig = _series_lines(ind, "group", [("women", "Women"), ("men", "Men"), ("girls", "Girls"),
                                       ("boys", "Boys")],
                        f"Share of {what}\n(known sex and age)")
    if fig:
        fig.axes[0].set_title(f"{what.capitalize()} by sex and age")
    return fig


def chart_forms(ind: Indicator) -> Figure | None:
    """Shares of the forms of exploitation per year."""
    fig = _series_lines(ind, "form", [("sexual_exploitation", "Sexual exploitation"),
                                      ("forced_labour", "Forced labour"),
                                      ("other_purposes", "Other purposes")],
                        "Share of detected victims\n(form reported)")
    if fig:
        fig.axes[0].set_title("Forms of exploitation")
    return fig


def chart_cross_border(ind: Indicator) -> Figure | None:
    """Share of cross-border (foreign-citizen) victims per year."""
    fig = _series_lines(ind, "origin", [("cross_border", "Cross-border"),
                                        ("domestic", "Domestic")],
                        "Share of detected victims\n(known citizenship)")
    if fig:
        fig.axes[0].set_title("Domestic and cross-border victims")
    return fig


def chart_hub_flows(ind: Indicator) -> Figure | None:
    """Share of cross-border persons (or records) per year of (first) registration (hub)."""
    fig = _series_lines(ind, "flow", [("cross_border", "Cross-border"), ("domestic", "Domestic")],
                        f"Share of {ind.unit}\n(both countries recorded)")
    if fig:
        fig.axes[0].set_title(f"Domestic and cross-border victims ({ind.unit})")
    return fig


def _counts_by_year(ind: Indicator, ax: plt.Axes, label: str, i: int) -> None:
    cells = sorted((c for c in _published(ind) if c.count), key=lambda c: c.key["year"])
    x = [c.key["year"] for c in cells]
    ax.plot(x, [c.count.mid for c in cells], color=PALETTE[i], marker=MARKERS[i],
            linestyle=LINESTYLES[i], linewidth=2, label=label)


def chart_totals(ind: Indicator) -> Figure | None:
    """Detected victims per year (sum over reporting countries) and the number of countries."""
    cells = sorted((c for c in _published(ind) if c.count), key=lambda c: c.key["year"])
    if not cells:
        return None
    fig, ax = _fig()
    x = [c.key["year"] for c in cells]
    ax.bar(x, [c.count.mid for c in cells], color=PALETTE[0])
    for c in cells:
        ax.annotate(f"{c.units}", (c.key["year"], c.count.mid), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylabel("Detected victims")
    ax.set_xlabel("Year (number above bar: reporting countries)")
    ax.set_title("Detected victims per year, sum over reporting countries")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def chart_change_by_region(ind: Indicator) -> Figure | None:
    """Relative change between two years per region (countries reporting both)."""
    cells = [c for c in _published(ind) if c.key["period"] == "change" and c.share]
    if not cells:
        return None
    cells.sort(key=lambda c: c.share.mid)
    fig, ax = _fig(8.0, 0.45 * len(cells) + 1.6)
    y = range(len(cells))
    vals = [c.share.mid for c in cells]
    ax.barh(list(y), vals, color=[PALETTE[5] if v < 0 else PALETTE[0] for v in vals])
    ax.set_yticks(list(y), [f"{c.key['region']} ({c.units})" for c in cells])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Change in detected victims (countries reporting both years in brackets)")
    ax.set_title(ind.title)
    return fig


def chart_justice(ind: Indicator) -> Figure | None:
    """Persons prosecuted or convicted per year (sum over reporting countries)."""
    if not _published(ind):
        return None
    fig, ax = _fig(8.0, 4.0)
    _counts_by_year(ind, ax, ind.title, 0 if "prosecuted" in ind.id else 5)
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylim(bottom=0)
    ax.set_title(ind.title)
    ax.set_xlabel("Year")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


def chart_bars(ind: Indicator) -> Figure | None:
    """Horizontal bars of published counts, one per cell (key values joined as the label)."""
    cells = [c for c in _published(ind) if c.count and "total" not in c.key.values()]
    if not cells:
        return None
    fig, ax = _fig(8.0, 0.4 * len(cells) + 1.6)
    labels = [" · ".join(str(v) for v in c.key.values()) for c in cells]
    ax.barh(range(len(cells)), [c.count.mid for c in cells], color=PALETTE[0])
    ax.set_yticks(range(len(cells)), labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.set_xlabel(f"Number of {ind.unit}")
    ax.set_title(ind.title)
    return fig


def chart_grouped_shares(ind: Indicator) -> Figure | None:
    """Grouped horizontal bars: share per (first key) within each second-key group."""
    k1, k2 = ind.key_names[:2]
    cells = [c for c in _published(ind) if c.share and c.key[k2] not in ("total", "not_recorded")
             and c.key[k1] != "total"]
    if not cells:
        return None
    rows = list(dict.fromkeys(c.key[k1] for c in cells))
    groups = list(dict.fromkeys(c.key[k2] for c in cells))
    fig, ax = _fig(8.0, 0.22 * len(rows) * max(1, len(groups)) + 2.0)
    h = 0.8 / len(groups)
    for j, g in enumerate(groups):
        ys, vals = [], []
        for i, r in enumerate(rows):
            for c in cells:
                if c.key[k1] == r and c.key[k2] == g:
                    ys.append(i + j * h)
                    vals.append(c.share.mid)
        ax.barh(ys, vals, height=h, color=PALETTE[j % len(PALETTE)], label=str(g),
                hatch=["", "//", "..", "xx", "\\\\"][j % 5])
    ax.set_yticks([i + 0.4 - h / 2 for i in range(len(rows))],
                  [str(r).replace("_", " ") for r in rows])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(f"Share of the group's {ind.unit} (with the field recorded) that have the value")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(ind.title)
    return fig


def chart_heatmap(ind: Indicator) -> Figure | None:
    """Origin × destination matrix of published counts (suppressed cells blank, marked ×)."""
    k1, k2 = ind.key_names[:2]
    inner = [c for c in ind.cells if c.key[k1] != "total" and c.key[k2] != "total"]
    if not inner:
        return None
    rows = sorted({c.key[k1] for c in inner})
    cols = sorted({c.key[k2] for c in inner})
    import numpy as np

    grid = np.full((len(rows), len(cols)), np.nan)
    fig, ax = _fig(9.0, 0.42 * len(rows) + 3.2)
    for c in inner:
        i, j = rows.index(c.key[k1]), cols.index(c.key[k2])
        if c.suppressed:
            ax.text(j, i, "×", ha="center", va="center", fontsize=9, color="#555555")
        elif c.count is not None:
            grid[i, j] = c.count.mid
    im = ax.imshow(np.log10(grid + 1), cmap="cividis", aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                v = grid[i, j]
                ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=8,
                        color="black" if np.log10(v + 1) > 0.6 * np.nanmax(np.log10(grid + 1))
                        else "white")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(k2.replace("_", " ").capitalize())
    ax.set_ylabel(k1.replace("_", " ").capitalize())
    ax.grid(False)
    ax.set_title(ind.title + "\n(× = suppressed)")
    bar = fig.colorbar(im, ax=ax, label="Count (log scale)", shrink=0.8)
    lo, hi = np.nanmin(grid), np.nanmax(grid)
    ticks = [n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
                         20_000, 50_000, 100_000, 200_000, 500_000) if lo <= n <= hi]
    if ticks:  # label the colour scale in counts, not in log10(count + 1)
        bar.set_ticks([np.log10(n + 1) for n in ticks], labels=[f"{n:,}" for n in ticks])
    return fig


CHARTS: dict[str, Callable[[Indicator], Figure | None]] = {
    "groups": chart_groups,
    "forms": chart_forms,
    "cross_border": chart_cross_border,
    "hub_flows": chart_hub_flows,
    "totals": chart_totals,
    "change_by_region": chart_change_by_region,
    "justice": chart_justice,
    "bars": chart_bars,
    "grouped_shares": chart_grouped_shares,
    "heatmap": chart_heatmap,
}

_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def render_chart(ind: Indicator, out_dir: Path, source: str) -> str | None:
    """Draw ``ind``'s chart, write ``<id>.svg`` and ``<id>.png`` into ``out_dir`` and return the
    SVG markup (without the XML prolog) for inlining; ``None`` if there is nothing to draw."""
    if not ind.chart or ind.chart not in CHARTS:
        return None
    fig = CHARTS[ind.chart](ind)
    if fig is None:
        return None
    fig.supxlabel(source_note(ind, source), fontsize=8, color="#444444", x=0.01, ha="left")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = buf.getvalue()
        (out_dir / f"{ind.id}.svg").write_text(svg, "utf-8")
        fig.savefig(out_dir / f"{ind.id}.png", format="png", dpi=120,
                    metadata={"Software": None})
    finally:
        plt.close(fig)
    return _SVG_HEAD.sub("", svg, count=1)
