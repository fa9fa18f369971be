"""Model presets: the shipped TOML files, their validation, and the models/ folder."""

from pathlib import Path

import pytest

from vatjax.bayes import available_presets, load_preset
from vatjax.bayes.presets import Preset
from vatjax.errors import VatInputError

REPO = Path(__file__).resolve().parents[2]


def test_presets_ship_and_load():
    assert available_presets() == [
        "gaussian", "mvn-marginal", "ordinal-circular", "ordinal-indep", "ordinal-lkj"
    ]
    lkj = load_preset()  # the default
    assert (lkj.name, lkj.likelihood, lkj.coupling) == ("ordinal-lkj", "ordinal", "lkj")
    assert lkj.sampler == {
        "method": "nuts", "chains": 4, "draws": 1000, "warmup": 1000,
        "target_accept": 0.85, "max_tree_depth": 8,
    }  # fmt: skip
    gauss = load_preset("gaussian")
    assert gauss.likelihood == "normal" and gauss.shift_mean_pooling == "hierarchical"
    assert "rating_sd" in gauss.priors and "item_sd" not in gauss.priors


def test_extends_takes_the_rest_from_the_base():
    indep, lkj = load_preset("ordinal-indep"), load_preset("ordinal-lkj")
    assert indep.coupling == "independent" and indep.name == "ordinal-indep"
    assert indep.sampler == lkj.sampler and indep.svi == lkj.svi
    # the LKJ concentration is not a prior of a model without LKJ
    assert {k: v for k, v in lkj.priors.items() if k != "lkj_concentration"} == indep.priors


def test_models_folder_links_the_shipped_presets():
    readme = (REPO / "models" / "README.md").read_text()
    for name in available_presets():
        linked = REPO / "models" / f"{name}.toml"
        shipped = REPO / "vatjax" / "bayes" / "models" / f"{name}.toml"
        assert linked.read_bytes() == shipped.read_bytes()
        assert f"`{name}`" in readme
        assert load_preset(linked) == load_preset(name)


def test_to_toml_round_trips(tmp_path):
    for name in available_presets():
        preset = load_preset(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(preset.to_toml())
        assert load_preset(path) == preset


def test_a_preset_object_passes_through():
    preset = load_preset("gaussian")
    assert load_preset(preset) is preset and isinstance(preset, Preset)


def test_every_problem_is_reported_at_once(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\nextends = "ordinal-lkj"\nlikelihood = "poisson"\ncolour = "red"\n'
        "[priors]\nshift_sd = -1.0\nshfit_sd = 1.0\n[sampler]\nchains = 0\n"
    )
    with pytest.raises(VatInputError) as err:
        load_preset(bad)
    text = str(err.value)
    for fragment in ("likelihood = 'poisson'", "unknown key 'colour'", "unknown prior 'shfit_sd'",
                     "'shift_sd' = -1.0 must be > 0", "sampler.chains = 0"):  # fmt: skip
        assert fragment in text
    assert len(err.value.problems) == 5


def test_unknown_names_and_files_are_clear(tmp_path):
    with pytest.raises(VatInputError, match=r"unknown model preset 'ordinal-lk'.*ordinal-lkj"):
        load_preset("ordinal-lk")
    with pytest.raises(VatInputError, match="no such preset file"):
        load_preset(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = ")
    with pytest.raises(VatInputError, match="cannot parse"):
        load_preset(broken)
    loop = tmp_path / "loop.toml"
    loop.write_text(f'extends = "{loop}"\n')
    with pytest.raises(VatInputError, match="extends itself"):
        load_preset(loop)


def test_a_learned_lkj_concentration_adds_its_site(tmp_path):
    path = tmp_path / "learned.toml"
    path.write_text('extends = "ordinal-lkj"\n[priors]\nlkj_concentration_log_sd = 1.0\n')
    learned = load_preset(path)
    assert learned.name == "learned"  # a preset without a name is named after its file
    assert learned.priors["lkj_concentration_log_sd"] == 1.0
    assert "coupling_log_concentration" in _sample_sites(learned)
    assert "coupling_log_concentration" not in _sample_sites(load_preset("ordinal-lkj"))


def _sample_sites(preset):
    """The sample sites of a preset's model, traced abstractly (nothing is computed)."""
    import jax
    from numpyro import handlers

    import vatjax
    from vatjax.bayes.data import prepare
    from vatjax.bayes.model import build_model, model_arrays

    study = vatjax.simulate_study(seed=0, n_models=1, n_scenarios=3, targets=[("Power", -1)],
                                  strategies=["p"], effects=1.0, coupling=0.5)  # fmt: skip
    data = prepare(vatjax.load_judgments(study.table))
    model, d = build_model(preset, data.sizes), model_arrays(data, preset)

    def values():
        trace = handlers.trace(handlers.seed(model, 0)).get_trace(d)
        return {k: site["value"] for k, site in trace.items() if site["type"] == "sample"}

    with jax.numpy_dtype_promotion("standard"):  # numpyro's LKJ is not strict-safe
        return set(jax.eval_shape(values))
