"""The hand-written SVG charts: deterministic, on the axes they claim, small, and readable in a browser."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obsgen.core import slo_math
from obsgen.report import charts, detection


def _chart(**extra: object) -> charts.Chart:
    line = charts.Line("budget left", [0, 1, 2, 3], [1.0, 0.8, 0.8, 0.25], step=True)
    return charts.Chart("a / b: budget", "what it shows", "hours", "budget left", [line],
                        hlines=[(0.0, "spent", charts.COLOURS["critical"])], **extra)  # type: ignore[arg-type]


def test_same_figures_same_bytes_and_a_text_alternative() -> None:
    first, second = charts.svg(_chart(percent_y=True)), charts.svg(_chart(percent_y=True))
    assert first == second
    assert first.startswith('<svg role="img" aria-labelledby="a-b-budget-t a-b-budget-d" ')
    assert '<title id="a-b-budget-t">a / b: budget</title><desc id="a-b-budget-d">what it shows</desc>' in first
    assert ">100%</text>" in first and ">0%</text>" in first  # percent ticks


def test_text_is_escaped() -> None:
    chart = charts.Chart('x <y> & "z"', "<script>", "a&b", "c", [charts.Line("<l>", [1, 2], [1, 2])])
    text = charts.svg(chart)
    assert "<script>" not in text and "&lt;script&gt;" in text and "x &lt;y&gt; &amp; &quot;z&quot;" in text


def test_log_axes_put_each_decade_where_it_belongs() -> None:
    chart = charts.Chart("t", "d", "x", "y", [charts.Line("l", [0.001, 1.0], [1000.0, 1.0])], xlog=True, ylog=True)
    text = charts.draw(chart)
    xs = {label: float(x) for x, label in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" fill="#333">([^<]+)<', text)}
    assert list(xs) == ["0.001", "0.01", "0.1", "1"]
    gaps = [b - a for a, b in zip(list(xs.values()), list(xs.values())[1:], strict=False)]
    assert max(gaps) - min(gaps) < 0.2  # decades evenly spaced
    # The line runs from the first decade's corner to the last's: a straight line on log-log axes.
    path = re.search(r'<path d="M([\d.]+) ([\d.]+) L([\d.]+) ([\d.]+)" stroke="#1f5f99"', text)
    assert path is not None and float(path.group(1)) == xs["0.001"] and float(path.group(3)) == xs["1"]


def test_a_long_series_is_cut_to_its_corners_but_keeps_them() -> None:
    xs = list(range(2001))
    ys = [min(i, 1000) for i in xs]  # a ramp, then flat: one corner
    text = charts.draw(charts.Chart("t", "d", "x", "y", [charts.Line("l", xs, ys)]))
    path = re.search(r'<path d="(M[^"]+)" stroke="#1f5f99"', text)
    assert path is not None
    assert path.group(1).count("L") == 2  # start, the corner, end
    steps = charts.draw(charts.Chart("t", "d", "x", "y", [charts.Line("l", [0, 1, 2], [3, 1, 1], step=True)]))
    assert re.search(r'<path d="M[\d.]+ ([\d.]+) L[\d.]+ \1 L', steps)  # holds its value until the next point


def test_tiers_that_spend_the_same_share_are_said_to_meet() -> None:
    said = detection.drawing(99.9, 30 * 86400, slo_math.DEFAULT_TIERS)[1]
    assert "Lines that meet: 1d/2h and 3d/6h (10% of the budget)" in said
    # Its own tiers, none sharing a share: no note.
    tiers = slo_math.DEFAULT_TIERS[:2]
    assert "meet" not in detection.drawing(99.9, 30 * 86400, tiers)[1]


def test_drawing_imports_no_plotting_library() -> None:
    code = "import sys, obsgen.cli, obsgen.pipeline.compile; print(sorted(m for m in sys.modules if m.split('.')[0] in {'matplotlib', 'PIL', 'numpy'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.tools
def test_in_a_browser_no_label_covers_another(tmp_path: Path) -> None:
    """Chromium lays the chart out: every text stays inside the picture and no two texts overlap."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.fail("chromium missing: run `make tools` (Debian package chromium)")
    drawing, _ = detection.drawing(99.9, 30 * 86400, slo_math.DEFAULT_TIERS)
    script = """<script>
      const svg = document.querySelector('svg'), box = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
      const out = [], inside = r => r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
      texts.forEach(([s, r]) => { if (!inside(r)) out.push('outside: ' + s); });
      texts.forEach(([a, r], i) => texts.slice(i + 1).forEach(([b, q]) => {
        if (r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom) out.push('overlap: ' + a + ' / ' + b);
      }));
      document.body.setAttribute('data-problems', JSON.stringify(out));
    </script>"""
    page = tmp_path / "chart.html"
    page.write_text(f"<!doctype html><body style='margin:0'>{drawing}{script}</body>")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r"data-problems=\"([^\"]*)\"", dom.stdout)
    assert found is not None, dom.stderr[-2000:]
    assert found.group(1) == "[]"
    shot = tmp_path / "chart.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=700,400", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000
