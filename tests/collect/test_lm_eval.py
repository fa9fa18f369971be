"""lm-evaluation-harness --log_samples files in the documented layout -> judgments table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import vatjax
from vatjax.collect import demo_items_path, judge_prompt, load_items
from vatjax.collect.lm_eval import load_lm_eval_samples
from vatjax.errors import VatInputError

FIELDS = {"scene_id": "scenario", "meta.value_item": "micro_value", "sign": "polarity"}
CONDITIONS = ["pre", "fewshot:Power:suppress:2"]


def _sample(doc_id, doc, answer, filter="none"):
    """One line as lm-eval writes it for a generate_until task."""
    prompt = doc["prompt"]
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": "",
        "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["\n\n"]}}},
        "resps": [[answer]],
        "filtered_resps": [answer],
        "filter": filter,
        "metrics": ["bypass"],
        "doc_hash": "d",
        "prompt_hash": "p",
        "target_hash": "t",
        "bypass": 999,
    }


def _docs(items, condition):
    for row in items.to_dict("records"):
        yield {
            "scene_id": row["scenario"],
            "prompt": judge_prompt(row),
            "meta": {"value_item": row["micro_value"], "country": row["country"]},
            "sign": "+1" if row["polarity"] == "express" else "-1",
            "cond": condition,
        }


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@pytest.fixture
def output_path(tmp_path):
    """lm_eval --output_path OUT --log_samples: OUT/<model>/samples_<task>_<date>.jsonl."""
    items = load_items(demo_items_path())
    run = tmp_path / "out" / "org__judge-7b"
    for condition in CONDITIONS:
        lines = [
            _sample(i, doc, f"Rating: {1 + (i + len(condition)) % 5}")
            for i, doc in enumerate(_docs(items, condition))
        ]
        lines[3]["filtered_resps"] = ["I would rather not say."]
        task = condition.split(":")[0]
        _write(run / f"samples_vat_{task}_2025-01-01T00-00-00.jsonl", lines)
    return tmp_path / "out"


def test_reads_the_documented_layout(output_path):
    table = load_lm_eval_samples(output_path, fields={**FIELDS, "cond": "condition"})
    assert len(table) == 2 * 120
    assert set(table["model"]) == {"org/judge-7b"}
    few = table[table["condition"] == CONDITIONS[1]]
    assert set(few["target"]) == {"Power"} and set(few["direction"]) == {-1}
    assert set(table.loc[table["condition"] == "pre", "strategy"]) == {"baseline"}
    assert table["rating"].isna().sum() == 2  # the answer without a rating, per condition
    assert table["rating"].dropna().isin([1, 2, 3, 4, 5]).all()
    judgments = vatjax.load_judgments(table)
    assert judgments.sizes["condition"] == 2
    assert np.isnan(judgments["rating"].values).sum() == 2


def test_condition_given_as_an_argument_and_model_override(output_path):
    file = next(output_path.rglob("samples_vat_pre_*.jsonl"))
    table = load_lm_eval_samples(file, fields=FIELDS, model="judge", condition="pre")
    assert len(table) == 120 and set(table["model"]) == {"judge"}
    assert set(table["condition"]) == {"pre"}


def test_repeats_give_one_row_each(tmp_path):
    doc = {"scenario": "s1", "micro_value": "Wealth", "polarity": "express"}
    line = _sample(0, {**doc, "prompt": "x"}, "")
    line["filtered_resps"] = [["3", "Rating: 4", "no idea"]]
    table = load_lm_eval_samples(_write(tmp_path / "m" / "samples_t_1.jsonl", [line]))
    assert table["repeat"].tolist() == [0, 1, 2]
    assert table["rating"].tolist()[:2] == [3.0, 4.0] and np.isnan(table["rating"][2])


def test_a_field_the_documents_lack_is_named_with_the_fields_seen(output_path):
    with pytest.raises(VatInputError) as err:
        load_lm_eval_samples(output_path, fields={**FIELDS, "scene": "scenario"})
    msg = str(err.value)
    assert "no field 'scene' for 'scenario'" in msg
    assert "'scene_id'" in msg and "'sign'" in msg and "fields=" in msg
    with pytest.raises(VatInputError, match="'rating', which is not a judgment field"):
        load_lm_eval_samples(output_path, fields={"sign": "rating"})


def test_a_condition_that_is_no_spec_needs_its_metadata(tmp_path):
    doc = {"scenario": "s1", "micro_value": "Wealth", "polarity": "express", "prompt": "x"}
    path = _write(tmp_path / "m" / "samples_t_1.jsonl", [_sample(0, doc, "4")])
    with pytest.raises(VatInputError, match="map document fields onto strategy, target"):
        load_lm_eval_samples(path, condition="dpo-checkpoint")


def test_several_filters_must_be_chosen(tmp_path):
    doc = {"scenario": "s1", "micro_value": "Wealth", "polarity": "express", "prompt": "x"}
    lines = [_sample(0, doc, "4", "strict"), _sample(0, doc, "Rating: 2", "loose")]
    path = _write(tmp_path / "m" / "samples_t_1.jsonl", lines)
    with pytest.raises(VatInputError, match=r"several lm-eval filters \['loose', 'strict'\]"):
        load_lm_eval_samples(path)
    assert load_lm_eval_samples(path, filter="loose")["rating"].tolist() == [2.0]


def test_bad_files(tmp_path):
    path = tmp_path / "m" / "samples_t_1.jsonl"
    doc = {"scenario": "s1", "micro_value": "Wealth", "polarity": "express", "prompt": "x"}
    _write(path, [_sample(0, doc, "4")])
    with path.open("a") as fh:
        fh.write('{"doc_id": 1, "doc": {"scen')
    with pytest.raises(VatInputError, match=r"line 2 is not JSON.*cut short"):
        load_lm_eval_samples(path)
    loglik = _sample(0, doc, "4")
    loglik["filtered_resps"] = [[-1.5, False], [-0.2, True]]
    with pytest.raises(VatInputError, match="generate_until"):
        load_lm_eval_samples(_write(path, [loglik]))
    with pytest.raises(VatInputError, match="not an lm-eval sample"):
        load_lm_eval_samples(_write(path, [{"doc_id": 0}]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(VatInputError, match=r"no lm-eval sample logs \(samples_\*\.jsonl\)"):
        load_lm_eval_samples(path.parent.parent / "empty")
    with pytest.raises(VatInputError, match="no such lm-eval sample log"):
        load_lm_eval_samples(tmp_path / "nowhere")


def test_the_public_name():
    assert vatjax.load_lm_eval_samples is load_lm_eval_samples


def test_unmapped_fields_are_proposed_from_the_documents(output_path):
    """No fields=: scene_id, meta.value_item and sign are found by their names and values;
    +1/-1 read as express/suppress."""
    table = load_lm_eval_samples(output_path, fields={"cond": "condition"})
    mapped = load_lm_eval_samples(output_path, fields={**FIELDS, "cond": "condition"})
    pd.testing.assert_frame_equal(table, mapped)
    assert set(table["polarity"]) == {"express", "suppress"}


def test_scenario_ids_derived_from_the_text_and_polarity_words(tmp_path):
    items = load_items(demo_items_path())
    docs = [
        {"situation": r["scenario_text"], "item": r["micro_value"],
         "stance": "supports" if r["polarity"] == "express" else "violates"}
        for r in items.to_dict("records")
    ]  # fmt: skip
    for d in docs:
        d["prompt"] = "x"
    path = _write(tmp_path / "m" / "samples_t_1.jsonl", [_sample(i, d, "3") for i, d in
                                                         enumerate(docs)])  # fmt: skip
    table = load_lm_eval_samples(path)
    assert table["scenario"].nunique() == items["scenario"].nunique()
    assert table["scenario"].str.startswith("scn-").all()
    assert (table["polarity"] == items["polarity"]).all()
    assert not table.duplicated(["scenario", "micro_value", "polarity"]).any()
