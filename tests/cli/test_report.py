"""The report of the demo: the HTML parses, every image decodes, every section is there."""

import base64
import io
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from PIL import Image

from vatjax.cli.analysis import file_sha256
from vatjax.cli.report import SECTIONS, write_report


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current = None
        self.in_h2 = False
        self.stack: list[str] = []

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input", "wbr"})

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)
        attrs = dict(attrs)
        if tag == "h2":
            self.in_h2 = True
        elif tag == "img" and self.current is not None:
            self.sections[self.current]["images"].append(attrs["src"])
        elif tag == "table" and self.current is not None:
            self.sections[self.current]["tables"] += 1

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()
        self.in_h2 = False

    def handle_data(self, data):
        if self.in_h2:
            self.current = data
            self.sections[data] = {"images": [], "tables": 0}


FIGURES = {
    "Gain-nVAT frontier",
    "Coupling heatmaps",
    "VAT on the circumplex",
    "Posterior shifts",
    "Simulator's truth",
}
TABLES = {"VAT table", "Paired comparisons", "Posterior shifts", "Diagnostics",
          "Power and sample size", "Simulator's truth", "Provenance"}


@pytest.mark.slow
def test_demo_report_has_every_section_and_every_image_decodes(demo_run):
    out, result, _ = demo_run
    assert result.exit_code == 0, result.output
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    page.close()
    assert not page.stack  # every element closed
    assert list(page.sections) == list(SECTIONS)
    text = (out / "report.html").read_text(encoding="utf-8")
    circle = text[text.index("<h2>VAT on the circumplex</h2>") : text.index("<h2>Posterior")]
    assert "The circumplex test (RTHOR)" in circle and "Coupling against angular distance" in circle
    assert len(page.sections["VAT on the circumplex"]["images"]) == 2
    for name in FIGURES:
        assert page.sections[name]["images"], name
    for name in TABLES:
        assert page.sections[name]["tables"] >= 1, name
    for section in page.sections.values():
        for src in section["images"]:
            assert src.startswith("data:image/png;base64,")  # embedded: opens offline
            img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
            img.load()
            assert img.size[0] > 200 and img.size[1] > 100
    md = (out / "report.md").read_text()
    assert all(f"## {name}" in md for name in SECTIONS)
    html_text = (out / "report.html").read_text()
    assert "FDR" in html_text and "nvat_floor" in html_text and "R-hat" in html_text
    assert "NOT met" in html_text  # the short fit's verdict is shown, not hidden
    assert len(page.sections["Diagnostics"]["images"]) == 1  # the rank plot; no rating PPC
    assert "No posterior predictive check of the ratings" in html_text
    summary = html_text.split("<section id='summary'>")[1].split("</section>")[0]
    for words in ("Tax above the noise floor in", "Gain on target (interval above 0) in",
                  "Frontier (best gain for least tax", "Bayesian fit: mvn-marginal, NUTS 2 "
                  "chains x 60 draws after 60 warmup, 24 cells: all 2 models",
                  "NOT converged", "<dt>phi:</dt>", "<dt>nVAT debiased:</dt>",
                  "<dt>noise floor:</dt>", "<dt>NaN:</dt>"):  # fmt: skip
        assert words in summary, words
    link = re.search(r"download='vat-table.csv' href='data:text/csv;base64,([^']+)'", html_text)
    full = pd.read_csv(io.BytesIO(base64.b64decode(link.group(1))))
    assert len(full) == 24 and {"gain_se", "nvat_floor_debiased", "frontier"} <= set(full)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["input_sha256"] == file_sha256(out / "judgments.parquet")
    assert prov["input_sha256"] in html_text and "include_diagonal" in html_text


def test_report_without_optional_results_says_what_is_missing(tmp_path):
    import vatjax

    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=10)
    vatjax.save(vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table))), tmp_path / "vat.nc")
    path = write_report(tmp_path, tmp_path / "r.html")
    text = path.read_text()
    assert "No bootstrap results" in text and "No posterior" in text
    assert "Simulator&#x27;s truth" not in text and "noise-free truth" not in text  # no truth.nc
    with pytest.raises(vatjax.VatInputError, match=r"no vat\.nc"):
        write_report(tmp_path / "empty", tmp_path / "x.html")
    with pytest.raises(vatjax.VatInputError, match=r"ending in \.html"):
        write_report(tmp_path, tmp_path / "x.pdf")


def test_report_reads_the_vat_nc_that_vat_out_writes(tmp_path):
    """`vatjax vat --bootstrap N --null M --out DIR/vat.nc` merges both into vat.nc."""
    import vatjax
    from vatjax.named import results_dataset

    study = vatjax.simulate_study(seed=1, n_models=1, n_scenarios=30)
    delta = vatjax.shifts(vatjax.load_judgments(study.table))
    boot = vatjax.bootstrap(delta, n_resamples=40, seed=0, quiet=True)
    null = vatjax.noise_floor(delta, n_permutations=20, seed=0, quiet=True)
    vatjax.save(results_dataset(vatjax.vat(delta), boot, null), tmp_path / "vat.nc")
    text = write_report(tmp_path, tmp_path / "r.html").read_text()
    assert "No bootstrap results" not in text and "No noise floor" not in text
    assert "Tax above the noise floor in" in text and "Gain on target (interval above 0)" in text
    assert re.search(r"\d\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\]", text)  # an interval cell
    assert "20 permutations" in text
