"""Item banks: formats, the `fields` mapping, strict validation, the shipped demo bank."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vatjax.collect.items import demo_items_path, load_items, split_items
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ

ROWS = [
    {
        "scenario": "s1",
        "scenario_text": "A neighbour asks to borrow money.",
        "action": "You lend it gladly.",
        "micro_value": "Helpful",
        "polarity": "express",
        "country": "Germany",
        "topic": "Social Networks",
    },
    {
        "scenario": "s1",
        "scenario_text": "A neighbour asks to borrow money.",
        "action": "You charge interest.",
        "micro_value": "Wealth",
        "polarity": "+1",
    },
    {
        "scenario": "s2",
        "scenario_text": "Your team wins a prize.",
        "action": "You take all the credit.",
        "micro_value": "Humble",
        "polarity": -1,
    },
]


def _write(tmp_path, fmt: str, rows=ROWS):
    df = pd.DataFrame(rows)
    path = tmp_path / f"items.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.astype({"polarity": str}).to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_every_format_loads_the_same_items(tmp_path, fmt):
    items = load_items(_write(tmp_path, fmt))
    assert items.columns.tolist() == [
        "scenario",
        "scenario_text",
        "action",
        "micro_value",
        "value",
        "polarity",
        "country",
        "topic",
    ]
    assert items["polarity"].tolist() == ["express", "express", "suppress"]
    assert items["value"].tolist() == ["Benevolence", "Power", "Tradition"]
    assert items["country"].tolist() == ["Germany", "", ""]


def test_fields_map_a_nested_json_file_with_other_names(tmp_path):
    # the shape of a downloaded item file with its own field names and nesting
    records = [
        {
            "scene_id": 17,
            "scene": "A town debates a new road.",
            "choice": "You organise a petition.",
            "svs_item": "social justice",
            "label": "support",
            "meta": {"country": "Uganda", "domain": "Politics"},
        },
        {
            "scene_id": 17,
            "scene": "A town debates a new road.",
            "choice": "You stay home.",
            "svs_item": "Daring",
            "label": "violate",
            "meta": {"country": "Uganda", "domain": "Politics"},
        },
    ]
    path = tmp_path / "vat_test.json"
    path.write_text(json.dumps({"data": records}))
    items = load_items(
        path,
        fields={
            "scene_id": "scenario",
            "scene": "scenario_text",
            "choice": "action",
            "svs_item": "micro_value",
            "label": "polarity",
            "meta.country": "country",
            "meta.domain": "topic",
        },
        polarity_labels={"support": "express", "violate": "suppress"},
    )
    assert items["scenario"].tolist() == ["17", "17"]
    assert items["micro_value"].tolist() == ["Social Justice", "Daring"]
    assert items["polarity"].tolist() == ["express", "suppress"]
    assert items["topic"].tolist() == ["Politics", "Politics"]


def test_every_problem_is_reported_at_once_with_rows_and_columns(tmp_path):
    rows = [
        dict(ROWS[0]),
        dict(ROWS[1], micro_value="Welth"),  # typo -> did you mean
        dict(ROWS[2], polarity="maybe"),
        dict(ROWS[0], action=""),  # empty cell + duplicate key of row 1
        dict(ROWS[0], micro_value="Power", scenario="s3"),  # a value, not a micro-value
    ]
    with pytest.raises(VatInputError) as info:
        load_items(_write(tmp_path, "jsonl", rows))
    problems = info.value.problems
    text = "\n".join(problems)
    assert len(problems) == 5, text
    assert "column 'action' is empty in row 4" in text
    assert "'Welth'" in text and "did you mean 'Wealth'" in text and "row 2" in text
    assert "column 'polarity'" in text and "row 3" in text and "'maybe'" in text
    assert "duplicate (scenario, micro_value, polarity)" in text and "rows 1, 4" in text
    assert "names the value 'Power'" in text and "row 5" in text


def test_missing_columns_suggest_a_fields_mapping(tmp_path):
    rows = [{k if k != "micro_value" else "micro value": v for k, v in r.items()} for r in ROWS]
    assert load_items(_write(tmp_path, "csv", rows)).attrs["fields"]["micro value"] == (
        "micro_value"
    )  # its cells are micro-values: proposed (item_schema); misspelt ones are not
    for r, bad in zip(rows, ["Helpfull", "Welth", "Humbel"], strict=True):
        r["micro value"] = bad
    with pytest.raises(VatInputError, match=r"no column\(s\) \['micro_value'\]") as info:
        load_items(_write(tmp_path, "csv", rows))
    assert "'micro value' -> 'micro_value'" in str(info.value)


def test_bad_fields_mapping_is_reported(tmp_path):
    path = _write(tmp_path, "csv")
    with pytest.raises(VatInputError) as info:
        load_items(path, fields={"scenari": "scenario", "action": "deed"})
    text = str(info.value)
    assert "did you mean 'scenario'" in text
    assert "'deed', which is not an item field" in text


def test_one_scenario_id_with_two_texts_is_an_error():
    rows = [dict(ROWS[0]), dict(ROWS[1], scenario_text="Something else.")]
    with pytest.raises(VatInputError, match="scenario 's1' has 2 different texts"):
        load_items(pd.DataFrame(rows))


def test_empty_and_unreadable_inputs(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(VatInputError, match="is empty"):
        load_items(empty)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(VatInputError, match="line 2 is not valid JSON"):
        load_items(bad)
    with pytest.raises(VatInputError, match=r"unknown file type '\.txt'"):
        (tmp_path / "items.txt").write_text("x")
        load_items(tmp_path / "items.txt")
    with pytest.raises(FileNotFoundError):
        load_items(tmp_path / "nope.json")


def test_value_column_must_agree_with_the_micro_value():
    rows = [dict(ROWS[0], value="Benevolence"), dict(ROWS[1], value="Security")]
    with pytest.raises(VatInputError, match=r"column 'value' disagrees.*row 2"):
        load_items(pd.DataFrame(rows))


def test_demo_bank_covers_every_value_with_both_polarities():
    items = load_items(demo_items_path())
    assert items["scenario"].nunique() == 12
    counts = items.groupby(["value", "polarity"]).size()
    assert set(items["value"]) == set(SCHWARTZ.values)
    assert (counts >= 2).all() and len(counts) == 20
    # every scenario judges every value once, so each scenario has a score for each value
    assert (items.groupby("scenario")["value"].nunique() == 10).all()
    assert items["country"].ne("").all() and items["topic"].ne("").all()


def test_split_holds_out_whole_scenarios_deterministically():
    items = load_items(demo_items_path())
    ev, pool = split_items(items, 0.3, seed=0)
    _, pool2 = split_items(items.sample(frac=1, random_state=1), 0.3, seed=0)
    assert set(pool["scenario"]) == set(pool2["scenario"])
    assert pool["scenario"].nunique() == 4 and ev["scenario"].nunique() == 8
    assert not set(pool["scenario"]) & set(ev["scenario"])
    assert len(ev) + len(pool) == len(items)
    _, other = split_items(items, 0.3, seed=1)
    assert set(other["scenario"]) != set(pool["scenario"])
    with pytest.raises(VatInputError, match="holdout"):
        split_items(items, 1.5)
