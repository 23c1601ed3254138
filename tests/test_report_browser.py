"""The rendered report as a reader sees it: headless Chromium (Playwright) renders report.html
to PNG, and the checks read the page the way a person would — can the labels be read at the
size they are drawn, does anything overflow the page, are the charts' scales sensible, can the
series be told apart by someone with a colour-vision deficiency, and did the page load anything
from the network. Skips with a message when Chromium or Playwright is absent.

Set ``SAFELIGHT_KEEP_SCREENSHOTS=DIR`` to keep the PNGs for a human look (docs/report.md lists
what was looked at).
"""

from __future__ import annotations

import os
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from test_report_conflict import case_hub  # noqa: F401  (fixture)

from safelight.report import charts
from safelight.report.hub import hub_report
from safelight.report.model import ReportSettings
from safelight.report.render import write_report
from safelight.report.sources import hub_source

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear sRGB
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
MIN_DELTA_E = 12.0  # CIE76 ΔE between any two series colours drawn together (≈ clearly distinct)
SERIES_IN_ONE_CHART = 4  # women, men, girls, boys: the most series any chart draws


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.clip(linear_rgb, 0, 1) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                     200 * (f[:, 1] - f[:, 2])], axis=1)


def _hex(colours) -> np.ndarray:
    return np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours])


def test_palette_stays_distinct_for_colour_blind_readers():
    for m in CVD.values():  # the matrices keep greys grey (rows add up to 1)
        assert np.allclose(np.sum(m, axis=1), 1.0, atol=1e-5)
    lin = _linear(_hex(charts.PALETTE[:SERIES_IN_ONE_CHART]))
    for name, m in {"normal": np.eye(3), **CVD}.items():
        lab = _lab(lin @ np.array(m).T)
        worst = min(np.linalg.norm(a - b) for a, b in combinations(lab, 2))
        assert worst >= MIN_DELTA_E, (name, worst)


def test_heatmap_colour_map_is_monotonic_in_lightness():
    import matplotlib

    rgb = matplotlib.colormaps["cividis"](np.linspace(0, 1, 64))[:, :3]
    for m in {"normal": np.eye(3), **CVD}.values():
        lightness = _lab(_linear(rgb) @ np.array(m).T)[:, 0]
        assert np.all(np.diff(lightness) > 0)  # order readable without hue, for everyone


@pytest.fixture
def computed(case_hub):  # noqa: F811
    hub_path, _ = case_hub
    settings = ReportSettings()
    with hub_source(hub_path, settings) as src:
        return hub_report(src, settings)


@pytest.fixture
def rendered(computed, tmp_path):
    write_report(computed, tmp_path / "out")
    return computed, tmp_path / "out"


def test_chart_scales_are_sensible(computed):
    """Share axes run from 0 and stop near 100 %, count axes start at 0, change axes show 0."""
    rep = computed
    from matplotlib.ticker import PercentFormatter

    drawn = 0
    for ind in rep.indicators:
        fig = charts.CHARTS[ind.chart](ind) if ind.chart in charts.CHARTS else None
        if fig is None:
            continue
        ax = fig.axes[0]
        drawn += 1
        if isinstance(ax.yaxis.get_major_formatter(), PercentFormatter):
            lo, hi = ax.get_ylim()
            assert lo == 0 and hi <= 1.1, (ind.id, lo, hi)
        elif ind.chart in ("bars", "grouped_shares"):
            lo, hi = ax.get_xlim()
            assert lo <= 0 < hi, ind.id
            if ind.chart == "grouped_shares":
                assert hi <= 1.1, ind.id
        for text in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            assert text.get_fontsize() >= 9, ind.id
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert drawn >= 4


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_as_a_reader_sees_it_in_headless_chromium(rendered, tmp_path):
    pw = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    rep, out = rendered
    shot = tmp_path / "report.png"
    requests: list[str] = []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            page.screenshot(path=str(shot), full_page=True)
            m = page.evaluate("""() => {
              const px = el => parseFloat(getComputedStyle(el).fontSize);
              const figs = [...document.querySelectorAll('figure svg')].map(svg => {
                const r = svg.getBoundingClientRect();
                const labels = [...svg.querySelectorAll('g[id^="text_"]')]
                  .map(g => g.getBoundingClientRect().height).filter(h => h > 0);
                return {width: r.width, height: r.height, labels};
              });
              return {scrollWidth: document.documentElement.scrollWidth,
                      body: px(document.body),
                      table: Math.min(...[...document.querySelectorAll('td')].map(px)),
                      figs};
            }""")
        finally:
            browser.close()
    # nothing but the file itself (and inline data) was requested: no CDN, no network
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
    assert m["scrollWidth"] <= 1100  # no horizontal scrolling
    assert m["body"] >= 14 and m["table"] >= 12  # body text and table text readable
    assert len(m["figs"]) >= 4
    for fig in m["figs"]:
        assert 300 <= fig["width"] <= 1100 and 150 <= fig["height"] <= 2500, fig
        heights = sorted(fig["labels"])
        assert heights, "chart without labels"
        # glyph boxes of tick labels and titles, in CSS pixels as drawn on the page: digits of
        # a 10-pt label at the page's scale are ~9 px tall; nothing may shrink below ~6 px
        assert heights[len(heights) // 2] >= 8, heights[:5]
        assert heights[0] >= 5, heights[:5]
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16).reshape(-1, 3)
    assert len(np.unique(img[::7], axis=0)) > 50  # not a blank page
    for colour in _hex(charts.PALETTE[:2]) * 255:  # the series colours really are on the page
        assert int((np.abs(img - colour).sum(axis=1) < 30).sum()) > 300
    if keep := os.environ.get("SAFELIGHT_KEEP_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "hub-report.png")
