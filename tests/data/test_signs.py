"""The one sign vocabulary: judgments, item banks and condition specs read the same words."""

import pandas as pd
import pytest

import vatjax
from vatjax.collect import load_items, parse_condition
from vatjax.data import SIGNS, sign_of


@pytest.mark.parametrize("label", sorted(SIGNS))
def test_every_sign_word_reads_the_same_everywhere(small_table, label):
    sign = SIGNS[label]
    assert sign_of(label.upper()) == sign
    table = small_table(direction=label)
    word = "express" if sign > 0 else "suppress"
    table.loc[table["polarity"] == word, "polarity"] = label  # read as the other: duplicates
    j = vatjax.load_judgments(table)
    assert int(j["direction"].sel(condition="dpo")) == sign
    assert sorted(set(j["polarity"].values.tolist())) == [-1, 1]
    items = load_items(
        pd.DataFrame(
            {"scenario": ["s1"], "scenario_text": ["S."], "action": ["A."],
             "micro_value": ["Wealth"], "polarity": [label]}
        )
    )  # fmt: skip
    assert items.loc[0, "polarity"] == ("express" if sign > 0 else "suppress")
    assert parse_condition(f"system:Power:{label}").direction == sign


def test_numbers_and_unknown_words():
    assert [sign_of(x) for x in (1, -1, 1.0, -1.0, "+1", " -1 ")] == [1, -1, 1, -1, 1, -1]
    assert sign_of("sideways") is None and sign_of(None) is None and sign_of(2) is None
