"""Item-file schema discovery: load_items on item files whose field names are not known."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import vatjax
from vatjax.collect.item_schema import propose_fields
from vatjax.collect.items import demo_items_path, load_items
from vatjax.errors import VatInputError

DEMO = load_items(demo_items_path())


def _write(path, records, jsonl=False):
    text = "".join(json.dumps(r) + "\n" for r in records) if jsonl else json.dumps(records)
    path.write_text(text)
    return path


def _predecessor():
    """The predecessor dataset's layout: country, topic, value, polarity, action (and the
    scenario as text), polarity as positive/negative."""
    return [
        {
            "country": r["country"],
            "topic": r["topic"],
            "scenario": r["scenario_text"],
            "value": r["micro_value"],
            "polarity": "positive" if r["polarity"] == "express" else "negative",
            "action": r["action"],
        }
        for r in DEMO.to_dict("records")
    ]


def _same_items(items: pd.DataFrame, *, ids=True) -> None:
    """The demo bank's items, scenario ids aside when they were derived."""
    cols = ["scenario_text", "action", "micro_value", "value", "polarity"]
    if ids:
        cols.append("scenario")
    key = ["scenario_text", "micro_value", "polarity"]
    got = items[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, DEMO[cols].sort_values(key).reset_index(drop=True))


def test_the_predecessor_layout(tmp_path):
    items = load_items(_write(tmp_path / "via.json", _predecessor()))
    _same_items(items, ids=False)
    assert items.attrs["fields"] == {
        "scenario": "scenario_text",
        "action": "action",
        "value": "micro_value",
        "polarity": "polarity",
        "country": "country",
        "topic": "topic",
    }
    # one derived id per scenario text, the same in any file
    assert items.groupby("scenario")["scenario_text"].nunique().eq(1).all()
    assert items["scenario"].nunique() == DEMO["scenario"].nunique()
    again = load_items(_write(tmp_path / "half.jsonl", _predecessor()[::2], jsonl=True))
    assert set(again["scenario"]) <= set(items["scenario"])
    assert "scenario ids derived from the scenario text" in items.attrs["proposal"]
    assert set(items["country"]) == set(DEMO["country"])


def test_nested_records_with_other_words(tmp_path):
    """An object holding the list; nested fields; support/oppose; numeric signs elsewhere."""
    records = [
        {
            "id": r["scenario"],
            "context": r["scenario_text"],
            "behavior": r["action"],
            "meta": {"svs_item": r["micro_value"].lower(), "label": "support"},
        }
        for r in DEMO.to_dict("records")
    ]
    for rec, pol in zip(records, DEMO["polarity"], strict=True):
        rec["meta"]["label"] = "support" if pol == "express" else "oppose"
    items = load_items(_write(tmp_path / "bank.json", {"version": 2, "items": records}))
    _same_items(items)
    assert items.attrs["fields"] == {
        "id": "scenario",
        "context": "scenario_text",
        "behavior": "action",
        "meta.svs_item": "micro_value",
        "meta.label": "polarity",
    }


def test_jsonl_with_hub_style_names(tmp_path):
    records = [
        {
            "scene_id": r["scenario"],
            "scene": r["scenario_text"],
            "option": r["action"],
            "value_item": r["micro_value"],
            "sign": 1 if r["polarity"] == "express" else -1,
            "domain": r["topic"],
        }
        for r in DEMO.to_dict("records")
    ]
    items = load_items(_write(tmp_path / "bank.jsonl", records, jsonl=True))
    _same_items(items)
    assert items.attrs["fields"]["domain"] == "topic"
    assert set(items["topic"]) == set(DEMO["topic"])


def test_fields_correct_a_wrong_proposal(tmp_path):
    records = [
        {
            "context": r["scenario_text"],
            "rationale": f"Because of rule {i} written out at some length.",
            "answer_text": r["action"],
            "svs": r["micro_value"],
            "polarity": r["polarity"],
        }
        for i, r in enumerate(DEMO.to_dict("records"))
    ]
    path = _write(tmp_path / "bank.json", records)
    proposal = propose_fields(pd.DataFrame(records))
    assert proposal.fields["rationale"] == "action"  # a guess: the first distinct text
    assert "'rationale' -> action (a long text, one per row)" in str(proposal)
    items = load_items(path, fields={"answer_text": "action"})
    _same_items(items, ids=False)
    assert items.attrs["fields"]["context"] == "scenario_text"
    assert "rationale" not in items.attrs["fields"]


def test_the_proposal_of_a_file_is_shown_with_its_reasons(tmp_path):
    text = str(vatjax.propose_fields(_write(tmp_path / "via.json", _predecessor())))
    assert "'value' -> micro_value (its cells are micro-values)" in text
    assert "'polarity' -> polarity (its cells are two polarity words)" in text
    assert "'scenario' -> scenario_text (a long text shared by several rows)" in text


def test_the_item_field_names_need_no_proposal(tmp_path):
    assert load_items(demo_items_path()).attrs == {}


def test_no_column_fits_is_an_error_with_the_proposal(tmp_path):
    records = [{k: v for k, v in r.items() if k != "scenario"} for r in _predecessor()]
    with pytest.raises(VatInputError) as err:
        load_items(_write(tmp_path / "via.json", records))
    msg = str(err.value)
    assert "no column(s) ['scenario', 'scenario_text']" in msg
    assert "--field THEIR=ITEM" in msg and "'value' -> micro_value" in msg
    assert "no column found for ['scenario', 'scenario_text']" in msg


def test_unknown_polarity_words_are_named_and_polarity_labels_fix_them(tmp_path):
    records = _predecessor()
    for r in records:
        r["polarity"] = {"positive": "good", "negative": "bad"}[r["polarity"]]
    path = _write(tmp_path / "via.json", records)
    with pytest.raises(VatInputError, match=r"column 'polarity' is not one of .*'good'"):
        load_items(path)
    items = load_items(path, polarity_labels={"good": "express", "bad": "suppress"})
    _same_items(items, ids=False)
