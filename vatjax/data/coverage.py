"""How the ratings cover the design: conditions whose rows carry no rating at all, and
models or conditions that use only part of the rating scale while the others use more of
it (a table that mixes scales, such as 1-5 and 1-7 ratings under ``scale=(1, 7)``).

Both checks read one count table, rows per (model, condition, rating), made by
bincounts over the coded rows (a block of rows at a time).

The mixed-scale rule: a group (a model, or a condition) whose highest rating is below
the scale's highest point is flagged when the other groups give ratings above that
group's highest in at least :data:`MIN_SHARE` of their ratings, and a group rating like
them would have given none above it in all its n ratings with probability
(1 - share)^n below :data:`MAX_CHANCE`; the same at the low end. Groups that rate on
one scale with different habits (a model that avoids the extremes) pass unless the
evidence is overwhelming (and groups of fewer than :data:`MIN_RATINGS` ratings are not
judged): a 1-5 model beside 1-7 models whose ratings are 6 or 7 one
time in four is flagged from about 100 ratings on.

Example:
    >>> import vatjax
    >>> study = vatjax.simulate_study(seed=0, n_models=2, n_scenarios=5)
    >>> t = study.table.astype({"rating": float})
    >>> t.loc[t["condition"] == "pre", "rating"] = None
    >>> try:
    ...     vatjax.load_judgments(t)
    ... except vatjax.VatInputError as err:
    ...     print(err.problems[0][:61])
    condition 'pre' has no rating for models 'model-1', 'model-2'
"""

from __future__ import annotations

import math

import numpy as np

from vatjax.data.checks import Key, missing_labels
from vatjax.data.columns import Coded
from vatjax.errors import option

__all__ = ["MAX_CHANCE", "MIN_RATINGS", "MIN_SHARE", "coverage_problems", "rating_counts"]

MIN_SHARE = 0.1
"""The share of the other groups' ratings beyond a group's range that flags it."""
MAX_CHANCE = 1e-12
"""The chance, below which a group's range is told as a different scale."""
MIN_RATINGS = 30
"""Groups with fewer ratings (or whose others have fewer) are not judged."""
_BLOCK = 1 << 22
"""Rows counted at a time (bounds the temporary arrays)."""


def rating_counts(model: Key, cond: Key, rating: Coded, value: np.ndarray, lo: int, hi: int):
    """Rows per (model, condition, slot): slots lo..hi count the ratings, then the cells
    that hold no usable rating (reported by the rating checks), then the empty cells.

    ``value`` is the rating of each label of ``rating`` (NaN where it has none).
    """
    n_m, n_c, n_lev = len(model.names), len(cond.names), hi - lo + 3
    empty = missing_labels(rating.labels)
    level = np.where(np.isnan(value), np.where(empty, n_lev - 1, n_lev - 2),
                     np.nan_to_num(value) - lo).astype(np.int64)  # fmt: skip
    level = np.append(level, n_lev - 1)  # code -1: a missing cell
    counts = np.zeros(n_m * n_c * n_lev, np.int64)
    for start in range(0, len(rating.codes), _BLOCK):
        part = slice(start, start + _BLOCK)
        cell = model.codes[part].astype(np.int64) * n_c + cond.codes[part]
        counts += np.bincount(cell * n_lev + level[rating.codes[part]], minlength=len(counts))
    return counts.reshape(n_m, n_c, n_lev)


def coverage_problems(counts: np.ndarray, model: Key, cond: Key, lo: int) -> list[str]:
    """The problems of a count table from :func:`rating_counts`: empty conditions, mixed
    scales."""
    rated = counts[..., :-1].sum(-1)
    if not rated.any():
        return ["column 'rating' is empty in every row: the table holds no rating"]
    problems = []
    for c, name in enumerate(cond.names):
        empty = (rated[:, c] == 0) & (counts[:, c].sum(-1) > 0)
        if empty.any():
            models = [m for m, e in zip(model.names, empty, strict=True) if e]
            problems.append(
                f"condition {name!r} has no rating for model{'s' if len(models) > 1 else ''} "
                f"{', '.join(map(repr, models))} (column 'rating' is empty in all "
                f"{int(counts[empty, c].sum()):,} of its rows): add its ratings, or remove its "
                "rows from the table to leave it out"
            )
    levels = counts[..., :-2]
    problems += _mixed_scales(levels.sum(1), model.names, "model", lo)
    problems += _mixed_scales(levels.sum(0), cond.names, "condition", lo)
    return problems


def _mixed_scales(hist: np.ndarray, names: list[str], noun: str, lo: int) -> list[str]:
    """Groups (rows of ``hist``, ratings per scale point) that rate in a narrower range
    than the rest, beyond what chance explains (see the module's rule)."""
    problems = []
    for g, name in enumerate(names):
        n = int(hist[g].sum())
        others = hist.sum(0) - hist[g]
        if min(n, others.sum()) < MIN_RATINGS:
            continue
        used = np.flatnonzero(hist[g])
        top, bottom = int(used[-1]), int(used[0])
        for beyond, side in ((others[top + 1 :].sum(), "above"), (others[:bottom].sum(), "below")):
            share = beyond / (others.sum() + 1)  # never 1: a few ratings prove little
            if share < MIN_SHARE or n * math.log1p(-share) > math.log(MAX_CHANCE):
                continue
            edge = lo + (top if side == "above" else bottom)
            theirs = np.flatnonzero(others)
            problems.append(
                f"{noun} {name!r} rates only {lo + bottom}..{lo + top} in its {n:,} ratings, "
                f"while the other {noun}s rate {side} {edge} in {share:.0%} of theirs (they "
                f"use {lo + theirs[0]}..{lo + theirs[-1]}): the table seems to mix rating "
                f"scales. Put every rating on one scale and declare it with {option('scale')}, "
                f"or load the {noun}s rated on another scale apart, each with its own "
                f"{option('scale', bare=True)}"
            )
    return problems
