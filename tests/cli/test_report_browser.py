"""The demo's report in headless Chromium at 1,400 and 800 px: no table overflows its
container, nor the page; every image decodes; the summary starts above the fold.

Screenshots (the first screen and the whole page at each width) are kept in the test's
tmp_path and copied to $VATJAX_SCREENSHOTS, default ``build/report-screenshots/`` in the
repository (ignored by git).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLD = 900  # px: the summary's top must lie above it at 1,400 px

CHECK = """<script>
window.addEventListener('load', () => {
  const over = (el) => el.scrollWidth > el.clientWidth + 1;
  const bad = [];
  document.querySelectorAll('table').forEach((t) => {
    const p = t.parentElement;
    if (over(p)) bad.push(`table in #${t.closest('section').id}: ${p.scrollWidth} > ${p.clientWidth}`);
  });
  if (over(document.body)) bad.push(`body: ${document.body.scrollWidth} > ${document.body.clientWidth}`);
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) bad.push(`page: ${root.scrollWidth} > ${window.innerWidth}`);
  const imgs = Array.from(document.images);
  const out = document.createElement('pre');
  out.id = 'vatjax-check';
  out.hidden = true;
  out.textContent = JSON.stringify({
    overflow: bad,
    broken: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.alt),
    images: imgs.length,
    tables: document.querySelectorAll('table').length,
    summary_top: document.getElementById('summary').getBoundingClientRect().top + window.scrollY,
    height: root.scrollHeight,
    width: window.innerWidth,
  });
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail(
        "headless Chromium is needed to check the report's layout and was not found: install "
        "it (Debian: `apt-get install chromium`; .ci/run installs it)"
    )


def _chrome(args: list[str]) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=15000", *args]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _check(page: Path, width: int) -> dict:
    dom = _chrome([f"--window-size={width},{FOLD}", "--dump-dom", page.as_uri()])
    found = re.search(r"<pre id=\"vatjax-check\"[^>]*>(.*?)</pre>", dom, re.S)
    assert found, f"the check script wrote nothing at {width} px"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&gt;", ">")
                      .replace("&lt;", "<").replace("&amp;", "&"))  # fmt: skip


def _keep(shots: list[Path]) -> Path:
    keep = Path(os.environ.get("VATJAX_SCREENSHOTS", REPO / "build" / "report-screenshots"))
    keep.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        shutil.copy2(shot, keep / shot.name)
    return keep


@pytest.mark.slow
def test_report_fits_1400_and_800_px_in_chromium(demo_run, tmp_path):
    out, result, _ = demo_run
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    page = tmp_path / "report-checked.html"
    page.write_text(html.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    shots = []
    for width in (1400, 800):
        found = _check(page, width)
        assert found["width"] == width
        assert found["tables"] >= 5 and found["images"] >= 5, found
        assert found["overflow"] == [], f"at {width} px: {found['overflow']}"
        assert found["broken"] == [], f"images that do not decode at {width} px: {found['broken']}"
        if width == 1400:
            assert found["summary_top"] < FOLD, found["summary_top"]
        first = tmp_path / f"report-{width}px-first-screen.png"
        _chrome([f"--window-size={width},{FOLD}", f"--screenshot={first}", page.as_uri()])
        full = tmp_path / f"report-{width}px-full.png"
        tall = min(int(found["height"]) + 20, 30000)
        _chrome([f"--window-size={width},{tall}", f"--screenshot={full}", page.as_uri()])
        assert first.stat().st_size > 10_000 and full.stat().st_size > 10_000
        shots += [first, full]
    _keep(shots)
