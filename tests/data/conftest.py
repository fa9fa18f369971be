"""The small long table the data tests share."""

import numpy as np
import pandas as pd
import pytest


def _small_table(**overrides) -> pd.DataFrame:
    """Two models, pre + one intervention, 4 scenarios, 3 micro-values, both polarities."""
    rng = np.random.default_rng(0)
    rows = []
    for model in ("m1", "m2"):
        for cond, target, direction in (("pre", None, None), ("dpo", "Power", -1)):
            for s in range(4):
                for mv in ("Wealth", "Authority", "Healthy"):
                    for pol in ("express", "suppress"):
                        rows.append(
                            dict(
                                model=model,
                                condition=cond,
                                scenario=f"s{s}",
                                micro_value=mv,
                                polarity=pol,
                                rating=float(rng.integers(1, 6)),
                                strategy=None if cond == "pre" else "dpo-ckpt6",
                                target=target,
                                direction=direction,
                            )
                        )
    df = pd.DataFrame(rows)
    for col, val in overrides.items():
        df[col] = val
    return df


@pytest.fixture
def small_table():
    """small_table(**overrides): the table, with columns set to the overrides."""
    return _small_table
