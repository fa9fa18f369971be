"""Taxonomies: names, micro-values, serialisation, and the taxonomy stored in attrs."""

import pytest
import xarray as xr

from vatjax import SCHWARTZ, Taxonomy, VatInputError
from vatjax.taxonomy import taxonomy_of


def test_taxonomy_validation():
    assert SCHWARTZ.value_of("self direction") == "Self-direction"
    assert len(SCHWARTZ.micro_values) == 56
    assert sorted(set(SCHWARTZ.micro_values.values())) == sorted(SCHWARTZ.values)
    with pytest.raises(VatInputError, match="not in the taxonomy"):
        Taxonomy(("A", "B"), {"a1": "C"})
    with pytest.raises(VatInputError, match="one angle per value"):
        Taxonomy(("A", "B"), {}, angles=(0.0,))
    assert Taxonomy.from_json(SCHWARTZ.to_json()) == SCHWARTZ


def test_taxonomy_of_reads_the_attrs():
    tax = Taxonomy(("Care", "Fairness"), {"Kindness": "Care"})
    assert taxonomy_of(xr.DataArray(0, attrs={"taxonomy": tax.to_json()})) == tax
    assert taxonomy_of(xr.Dataset()) is SCHWARTZ
