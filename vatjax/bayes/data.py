"""From the Judgments Dataset to the dense arrays the Bayesian models read.

Every check runs here, before any sampling: no baseline, no intervention, fewer than 3
scenarios, constant ratings, an incomplete model x intervention design, a selection that
names nothing. Ratings are laid out dense as ``(model, condition, scenario, slot)``, a
slot being one (micro_value, polarity, repeat) of a scenario; a mask marks the missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from vatjax.data import check_judgments
from vatjax.data.scoring import group_mean, names_values_only, phi_levels
from vatjax.errors import VatInputError, option
from vatjax.taxonomy import taxonomy_of

MIN_SCENARIOS = 3


@dataclass(frozen=True)
class CellLabels:
    """The labels of the cells (model x intervention) of one fit, every preset's."""

    models: list[str]
    interventions: list[str]
    values: list[str]
    strategy: list[str]
    target: list[str]
    direction: np.ndarray  # (intervention,) +1 / -1
    target_index: np.ndarray  # (intervention,) index into values


@dataclass(frozen=True)
class BayesData(CellLabels):
    """Dense arrays and labels of one fit (numpy; the model reads ``arrays()``)."""

    baseline: str
    scenarios: list[str]
    micro_values: list[str]
    groups: list[str]  # target groups "Security+1", for partial pooling
    group_index: np.ndarray  # (intervention,)
    scale: tuple[int, int]
    rating: np.ndarray  # (model, condition, scenario, slot) int32 category 0..K-1
    mask: np.ndarray  # same shape, bool: observed
    slot_value: np.ndarray  # (slot,) value index
    slot_micro: np.ndarray  # (slot,) micro-value index
    slot_sign: np.ndarray  # (slot,) polarity +1 / -1
    item_scenario: np.ndarray  # (item,) scenario index of each Judgments item kept
    item_slot: np.ndarray  # (item,) slot index of each Judgments item kept
    items: xr.Dataset  # the Judgments rating[model, condition, item] restricted to the fit

    @property
    def n_categories(self) -> int:
        return self.scale[1] - self.scale[0] + 1

    @property
    def conditions(self) -> list[str]:
        return [self.baseline, *self.interventions]

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "model": len(self.models),
            "intervention": len(self.interventions),
            "condition": len(self.interventions) + 1,
            "scenario": len(self.scenarios),
            "value": len(self.values),
            "micro_value": len(self.micro_values),
            "slot": len(self.slot_value),
            "target_group": len(self.groups),
            "category": self.n_categories,
            "cutpoint": self.n_categories - 1,
            "cutpoint_gap": max(self.n_categories - 2, 0),
        }

    @property
    def poolable(self) -> bool:
        """Whether some target group holds at least two shift means (model x intervention)."""
        return len(self.models) * int(np.bincount(self.group_index).max()) >= 2

    def phi(self) -> np.ndarray:
        """phi of each rating category: (r - mid) / (mid - low), VAT_SPEC section 1."""
        return phi_levels(*self.scale).astype(np.float32)

    def slot_design(self) -> np.ndarray:
        """(value, slot) matrix: the polarity where the slot's micro-value is in the value."""
        out = np.zeros((len(self.values), len(self.slot_value)), np.float32)
        out[self.slot_value, np.arange(len(self.slot_value))] = self.slot_sign
        return out

    def slot_to_value(self) -> np.ndarray:
        """(slot, value) 0/1 matrix that sums slots into their value."""
        out = np.zeros((len(self.slot_value), len(self.values)), np.float32)
        out[np.arange(len(self.slot_value)), self.slot_value] = 1.0
        return out

    def score(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed value scores E (model, condition, scenario, value), NaN where no rating,
        and the number of ratings behind each."""
        signed = self.slot_sign * self.phi()[self.rating]
        score, count = group_mean(signed, self.mask, self.slot_to_value())
        return score.astype(np.float32), count

    def within_cell(self) -> tuple[np.ndarray, np.ndarray]:
        """Pooled within-cell sum of squares of the signed phi per (model, value), and its
        degrees of freedom sum(n - 1) over conditions and scenarios."""
        signed = self.slot_sign * self.phi()[self.rating]
        score, count = self.score()
        to_value = self.slot_to_value()
        cell_mean = np.nan_to_num(score) @ to_value.T  # each slot's cell mean
        sq = np.where(self.mask, (signed - cell_mean) ** 2, 0.0) @ to_value
        df = np.maximum(count - 1, 0)
        return sq.sum(axis=(1, 2)).astype(np.float32), df.sum(axis=(1, 2)).astype(np.float32)

    def coords(self) -> dict[str, list]:
        return {
            "model": self.models,
            "intervention": self.interventions,
            "condition": self.conditions,
            "scenario": self.scenarios,
            "value": self.values,
            "value2": self.values,
            "micro_value": self.micro_values,
            "target_group": self.groups,
            "cutpoint": list(range(self.n_categories - 1)),
            "cutpoint_gap": list(range(max(self.n_categories - 2, 0))),
        }


def _pick(kind: str, available: Sequence[str], chosen: Sequence[str] | None) -> list[str]:
    if chosen is None:
        return list(available)
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise VatInputError(
            f"{kind}(s) {unknown} are not in the judgments; choose from {list(available)}"
        )
    if not chosen:
        raise VatInputError(f"the {kind} selection is empty; name at least one {kind}")
    return [a for a in available if a in chosen]


def select_cells(
    judgments: xr.Dataset,
    models: Sequence[str] | None,
    interventions: Sequence[str] | None,
    scenarios: Sequence[str] | None,
) -> tuple[xr.Dataset, str, list[str], list[str]]:
    """The selected Judgments (items with no rating dropped), baseline, models, interventions."""
    check_judgments(judgments)
    attrs = judgments.attrs
    missing = [k for k in ("baseline", "scale_min", "scale_max") if k not in attrs]
    if missing:
        raise VatInputError(
            f"the judgments lack the attrs {missing}; make them with vatjax.load_judgments"
        )
    baseline = str(attrs["baseline"])
    conds = [str(c) for c in judgments["condition"].values]
    if baseline not in conds:
        raise VatInputError(
            f"no baseline: the judgments have no condition {baseline!r} (conditions: {conds}); "
            "a shift needs the ratings before the intervention"
        )
    model_names = _pick("model", [str(m) for m in judgments["model"].values], models)
    all_int = [c for c in conds if c != baseline]
    if not all_int:
        raise VatInputError(
            f"there is no intervention: every condition is the baseline {baseline!r}"
        )
    int_names = _pick("intervention", all_int, interventions)
    sub = judgments.sel(model=model_names, condition=[baseline, *int_names])
    if scenarios is not None:
        keep = _pick("scenario", list(pd.unique(sub["scenario"].values)), scenarios)
        sub = sub.isel(item=np.isin(sub["scenario"].values, keep))
    rating = sub["rating"].values
    sub = sub.isel(item=~np.all(np.isnan(rating), axis=(0, 1)))
    return sub, baseline, model_names, int_names


def _check_design(
    rating: np.ndarray, scen_names: list[str], model_names: list[str], conditions: list[str]
) -> None:
    """Raise every problem of the selection at once: too few scenarios, constant ratings,
    a model missing under a condition."""
    problems = []
    if len(scen_names) < MIN_SCENARIOS:
        problems.append(
            f"only {len(scen_names)} scenario(s) with ratings: the coupling of shifts across "
            f"scenarios needs at least {MIN_SCENARIOS}"
        )
    for m, name in enumerate(model_names):
        r = rating[m][~np.isnan(rating[m])]
        if r.size and np.all(r == r[0]):
            problems.append(
                f"every rating of model {name!r} is {r[0]:g}: constant ratings carry no "
                "information on shifts (and leave the cutpoints unidentified)"
            )
        for c, cond in enumerate(conditions):
            if np.all(np.isnan(rating[m, c])):
                problems.append(
                    f"model {name!r} has no ratings under {cond!r}: the Bayesian models need "
                    "every selected model under the baseline and every selected intervention; "
                    f"select a complete design with {option('models')} / "
                    f"{option('interventions')}"
                )
    if problems:
        raise VatInputError(f"{len(problems)} problem(s) with the judgments to fit", problems)


def _slots(sub: xr.Dataset, scen_names: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The distinct (micro_value, polarity, repeat) slots, and each item's slot and scenario."""
    slot_keys = pd.DataFrame(
        {
            "micro_value": sub["micro_value"].values.astype(str),
            "polarity": sub["polarity"].values.astype(int),
            "repeat": sub["repeat"].values.astype(int) if "repeat" in sub.coords else 0,
        }
    )
    slots = slot_keys.drop_duplicates().reset_index(drop=True)
    slot_index = pd.MultiIndex.from_frame(slots).get_indexer(pd.MultiIndex.from_frame(slot_keys))
    item_scen = pd.Index(scen_names).get_indexer(sub["scenario"].values.astype(str))
    return slots, slot_index, item_scen


def prepare(
    judgments: xr.Dataset,
    *,
    models: Sequence[str] | None = None,
    interventions: Sequence[str] | None = None,
    scenarios: Sequence[str] | None = None,
) -> BayesData:
    """Validate the Judgments (and a selection of them) and lay them out dense.

    Example:
        >>> import vatjax
        >>> j = vatjax.load_judgments(vatjax.simulate_study(seed=0, n_scenarios=3).table)
        >>> data = prepare(j, models=["model-1"], interventions=["prompt-8shot:Power"])
        >>> data.rating.shape[:3], data.target
        ((1, 2, 3), ['Power'])
    """
    if names_values_only(judgments):
        raise VatInputError(
            "the ordinal models give each micro-value its own item effect, but these judgments "
            "name values only (the table has a 'value' column and no 'micro_value' column): "
            "give a table with a 'micro_value' column, or fit the marginal model, which "
            f"works on values: {option('preset', 'mvn-marginal')}"
        )
    sub, baseline, model_names, int_names = select_cells(
        judgments, models, interventions, scenarios
    )
    rating = sub["rating"].values
    lo, hi = int(judgments.attrs["scale_min"]), int(judgments.attrs["scale_max"])
    scen_names = list(pd.unique(sub["scenario"].values.astype(str)))
    _check_design(rating, scen_names, model_names, [baseline, *int_names])

    tax = taxonomy_of(judgments)
    present_v = set(sub["value"].values.astype(str))
    value_names = [v for v in tax.values if v in present_v]
    present_u = set(sub["micro_value"].values.astype(str))
    micro_names = [u for u in tax.micro_values if u in present_u]
    targets = [str(t) for t in sub["target"].values[1:]]
    no_target = sorted({t for t in targets if t not in value_names})
    if no_target:
        raise VatInputError(
            f"target value(s) {no_target} have no ratings in the data to fit: the gain needs "
            "ratings of the target; collect them or drop those interventions"
        )
    direction = sub["direction"].values[1:].astype(np.float32)
    group_of = [f"{t}{int(d):+d}" for t, d in zip(targets, direction, strict=True)]
    groups = list(dict.fromkeys(group_of))

    slots, slot_index, item_scen = _slots(sub, scen_names)
    dense = np.full((len(model_names), len(int_names) + 1, len(scen_names), len(slots)), np.nan)
    dense[:, :, item_scen, slot_index] = rating
    mask = ~np.isnan(dense)
    micro_of_slot = slots["micro_value"].to_numpy()
    return BayesData(
        models=model_names,
        interventions=int_names,
        baseline=baseline,
        scenarios=scen_names,
        values=value_names,
        micro_values=micro_names,
        strategy=[str(s) for s in sub["strategy"].values[1:]],
        target=targets,
        direction=direction,
        target_index=np.array([value_names.index(t) for t in targets], np.int32),
        groups=groups,
        group_index=np.array([groups.index(g) for g in group_of], np.int32),
        scale=(lo, hi),
        rating=np.where(mask, dense - lo, 0).astype(np.int32),
        mask=mask,
        slot_value=np.array([value_names.index(tax.value_of(u)) for u in micro_of_slot], np.int32),
        slot_micro=np.array([micro_names.index(u) for u in micro_of_slot], np.int32),
        slot_sign=slots["polarity"].to_numpy().astype(np.float32),
        item_scenario=item_scen.astype(np.int32),
        item_slot=slot_index.astype(np.int32),
        items=sub,
    )
