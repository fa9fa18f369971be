"""``vatjax demo`` at the paper's scale: its defaults, the marginal fit of every cell, the
above-floor statement, the posterior section and the simulator's truth in the report.

The demo itself runs at a reduced size (the ``demo_run`` fixture); the numbers the report
states are recomputed here from the files it was written from.
"""

import inspect
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image
from typer.testing import CliRunner

import vatjax
from vatjax.cli import app, figures_bayes
from vatjax.cli.demo import demo_command
from vatjax.cli.pipeline import FIT_MODEL, run_demo
from vatjax.cli.report import SECTIONS, write_report


def _section(md: str, title: str) -> str:
    """The Markdown of one section of the report (up to the next ``## ``)."""
    body = md.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def _md_table(text: str, first: str) -> pd.DataFrame:
    """The Markdown table whose header starts with ``| first |``, as text cells."""
    lines = text[text.index(f"| {first} |") :].splitlines()
    lines = lines[: next((k for k, t in enumerate(lines) if not t.startswith("|")), len(lines))]
    rows = [[c.strip() for c in t.strip().strip("|").split("|")] for t in lines]
    return pd.DataFrame(rows[2:], columns=rows[0])


def _image(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def test_the_demo_defaults_are_the_papers_size():
    params = inspect.signature(demo_command).parameters
    defaults = {name: p.default for name, p in params.items()}
    assert defaults["scenarios"] == 9002 and defaults["models"] == 4
    assert defaults["fit"] is True
    assert (defaults["fit_chains"], defaults["fit_draws"], defaults["fit_warmup"]) == (
        4,
        1000,
        1000,
    )
    pipeline = {name: p.default for name, p in inspect.signature(run_demo).parameters.items()}
    assert (pipeline["n_models"], pipeline["n_scenarios"]) == (4, 9002)
    assert (pipeline["fit_chains"], pipeline["fit_draws"], pipeline["fit_warmup"]) == (
        4,
        1000,
        1000,
    )
    assert FIT_MODEL == "mvn-marginal"
    help_text = " ".join(CliRunner().invoke(app, ["demo", "--help"]).output.split())
    assert re.search(r"--scenarios\b[^[]*\[default: 9002\]", help_text), help_text
    assert "--fit-chains" in help_text and "--no-fit" in help_text


@pytest.mark.slow
def test_the_demo_fits_every_cell_with_the_marginal_model(demo_run):
    out, result, _ = demo_run
    assert result.exit_code == 0, result.output
    post = vatjax.load(out / "posterior.nc")
    vat = vatjax.load(out / "vat.nc")
    # 2 models x 13 conditions x 16 scenarios x 112 items: a study this small would get
    # ordinal-lkj from vatjax.fit's default; the demo asks for the marginal model
    assert post.attrs["preset"] == "mvn-marginal"
    assert post["vat"]["nvat"].sizes["model"] == vat.sizes["model"] == 2
    assert post["vat"]["nvat"].sizes["intervention"] == vat.sizes["intervention"] == 12
    assert post["vat"]["nvat"].sizes["chain"] == 2  # as asked (the default, 4: above)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["fit_model"] == "mvn-marginal" and prov["fit_cells"] == 24
    assert set(prov["step_seconds"]) >= {"simulate", "vat", "bootstrap", "noise_floor", "fit"}


@pytest.mark.slow
def test_the_above_floor_statement_matches_vat_csv(demo_run):
    out, result, _ = demo_run
    table = pd.read_csv(out / "vat.csv")
    above = table["nvat"] > table["nvat_floor"]
    printed = " ".join(result.output.split())
    assert f"above the noise floor (nvat > nvat_floor) in {int(above.sum())} of 24" in printed
    assert table["above_floor"].tolist() == above.tolist()
    md = (out / "report.md").read_text()
    line = next(t for t in _section(md, "Summary").splitlines() if "Tax above the noise" in t)
    k, n = map(int, re.search(r"in (\d+) of (\d+) cells", line).groups())
    assert (k, n) == (int(above.sum()), len(table))
    named = re.findall(r"(model-\d+)/(\S+) \(nVAT debiased ([\d.]+) \[([\d.]+), ([\d.]+)\], "
                       r"p ([\d.]+)\)", line)  # fmt: skip
    by_cell = table.set_index(["model", "intervention"])
    for model, iv, *figures in named:
        row = by_cell.loc[(model, iv)]
        cols = ("nvat_debiased", "nvat_lower", "nvat_upper", "nvat_p")
        assert tuple(figures) == tuple(f"{row[c]:.3f}" for c in cols)
    listed = {(m, i) for m, i, *_ in named}
    assert len(listed) == min(k, 6)  # the summary names six, then counts
    assert listed <= set(zip(table["model"][above], table["intervention"][above], strict=True))
    vat_md = _md_table(_section(md, "VAT table"), "model")
    assert vat_md["above floor"].tolist() == ["yes" if a else "no" for a in above]


@pytest.mark.slow
def test_the_truth_section_states_what_the_files_say(demo_run):
    out, _, _ = demo_run
    truth, post = vatjax.load(out / "truth.nc"), vatjax.load(out / "posterior.nc")
    point = vatjax.load(out / "vat.nc")["nvat"]
    draws = post["vat"]["nvat"].transpose("chain", "draw", "model", "intervention")
    flat = draws.values.reshape(-1, *draws.shape[2:]).astype(np.float64)
    cells = {"model": draws["model"], "intervention": draws["intervention"]}
    true = truth["nvat_noise_free"].sel(cells).values
    lo, hi = np.quantile(flat, [0.05, 0.95], axis=0)
    covered = (lo <= true) & (true <= hi)
    closer = np.abs(flat.mean(0) - true) < np.abs(point.sel(cells).values - true)
    md = (out / "report.md").read_text()
    section = _section(md, "Simulator's truth")
    found = re.search(
        r"covers the noise-free truth in (\d+) of (\d+) cells; the posterior mean is closer to "
        r"it than the Spearman point figure in (\d+) of (\d+)",
        section,
    )
    assert found, section[:500]
    assert tuple(map(int, found.groups())) == (covered.sum(), 24, closer.sum(), 24)
    rows = _md_table(section, "model")
    assert len(rows) == 24
    assert rows["covered"].tolist() == ["yes" if c else "no" for c in covered.ravel()]
    assert rows["nvat_true"].tolist() == [f"{v:.3f}" for v in true.ravel()]
    observed = truth["nvat_observed"].sel(cells).values.ravel()
    assert rows["nvat_observed_true"].tolist() == [f"{v:.3f}" for v in observed]
    page = (out / "report.html").read_text()
    assert "Simulator&#x27;s truth" in page and "id='simulator-s-truth'" in page


@pytest.mark.slow
def test_the_marginal_posterior_section_renders(demo_run):
    out, _, _ = demo_run
    post = vatjax.load(out / "posterior.nc")
    md = (out / "report.md").read_text()
    section = _section(md, "Posterior shifts")
    p5, p50, p95 = np.quantile(post["prior"]["nvat"].values, [0.05, 0.5, 0.95])
    assert f"median {p50:.3f}, 90% interval {p5:.3f} to {p95:.3f}" in section
    assert "each cell's target boxed" in section and "arviz-plots forest" in section
    assert len(_md_table(section, "model")) == 24
    sec = figures_bayes.posterior(post)
    assert [_image(png).size[0] > 300 for _, png in sec.figures] == [True, True]


def _fake_tree(predictive: bool) -> xr.DataTree:
    from vatjax.bayes.diagnostics import check

    rng = np.random.default_rng(0)
    tree = xr.DataTree.from_dict(
        {"vat": xr.Dataset({"nvat": (("chain", "draw"), rng.normal(size=(2, 50)))})}
    )
    tree["diagnostics"] = check(tree, warn=False)
    if predictive:
        dims = ("model", "condition", "item")
        coords = {"condition": ["pre", "post"]}
        ratings = rng.integers(1, 6, (1, 2, 30)).astype(float)
        tree["observed_data"] = xr.Dataset({"rating": (dims, ratings)}, coords=coords)
        pred = rng.integers(1, 6, (2, 10, 1, 2, 30))
        tree["posterior_predictive"] = xr.Dataset(
            {"rating": (("chain", "draw", *dims), pred)}, coords=coords
        )
    return tree


@pytest.mark.parametrize("predictive", [True, False])
def test_diagnostics_draws_the_rating_check_only_when_there_are_predictions(predictive):
    sec = figures_bayes.diagnostics(_fake_tree(predictive))
    assert len(sec.figures) == 1 + int(predictive)  # the rank plot, then the rootogram
    skipped = any("No posterior predictive check" in t for t in sec.text)
    assert skipped is not predictive
    assert len(sec.tables) == 1


def test_the_truth_section_without_a_posterior(tmp_path):
    study = vatjax.simulate_study(seed=1, n_models=1, n_scenarios=30)
    result = vatjax.vat(vatjax.shifts(vatjax.load_judgments(study.table)))
    vatjax.save(result, tmp_path / "vat.nc")
    vatjax.save(study.truth, tmp_path / "truth.nc")
    write_report(tmp_path, tmp_path / "r.html")
    md = (tmp_path / "r.md").read_text()
    assert [t for t in SECTIONS if f"## {t}\n" in md] == list(SECTIONS)
    section = _section(md, "Simulator's truth")
    assert "No posterior (posterior.nc)" in section
    diff = (result["nvat"] - study.truth["nvat_observed"]).values
    assert f"mean difference {diff.mean():+.3f}" in section
    assert "the debiased nVAT's is" in section
    assert "post_mean" not in section and "r_files/" in section  # the figure, no posterior
