"""From coded rows to the dense rating tensor (model, condition, item), with no per-row
Python: an item is a (scenario, micro-value, polarity, repeat) code tuple numbered in
order of first appearance; a rating lands at its (model, condition, item) cell, and a
cell reached twice is a duplicate.

Example:
    >>> import numpy as np
    >>> first_appearance(np.array([7, 3, 7, 5]), 8).tolist()
    [0, 1, 0, 2]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vatjax.data.checks import Key
from vatjax.data.columns import Coded

__all__ = [
    "DenseRows",
    "Items",
    "dense_bytes",
    "dense_rows",
    "dense_tensor",
    "first_appearance",
    "item_coords",
    "number_items",
]

_DENSE_SPACE_PER_ROW = 4
"""Key spaces up to this many times the rows (or 2^20) are numbered with a dense table."""
_COUNT_BYTES, _TENSOR_BYTES = 8, 4
"""Bytes per tensor cell: the int64 count of rows per cell (np.bincount), then float32."""
_ITEM_BYTES = 64
"""Bytes per item besides its names: polarity, repeat, item number, index, temporaries."""


class DenseRows(NamedTuple):
    """Where every row goes: its model, condition and item, and the item's first row."""

    model: np.ndarray
    condition: np.ndarray
    item: np.ndarray  # (row,) item number, -1 where the row names no item
    item_first_row: np.ndarray  # (item,) the first row of each item
    shape: tuple[int, int, int]
    duplicated: np.ndarray  # (row,) bool: the row shares its cell with another


def _index_type(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def _rows_of(valid: np.ndarray | None, n: int) -> np.ndarray:
    """Row numbers (all of them, or where ``valid``) in the smallest index type."""
    if valid is None:
        return np.arange(n, dtype=_index_type(n))
    return np.flatnonzero(valid).astype(_index_type(n), copy=False)


def first_appearance(keys: np.ndarray, space: int) -> np.ndarray:
    """Number the distinct non-negative keys 0, 1, ... in order of first appearance (-1
    stays -1). Dense keys (below ``space``) use a table; others a sort."""
    n = len(keys)
    valid = None if n == 0 or keys.min() >= 0 else keys >= 0
    picked = keys if valid is None else keys[valid]
    if space <= max(_DENSE_SPACE_PER_ROW * n, 1 << 20):
        first = np.full(space, n, dtype=_index_type(n + 1))
        np.minimum.at(first, picked, _rows_of(valid, n))
        seen = np.flatnonzero(first < n)
        number = np.full(space + 1, -1, dtype=_index_type(space))
        number[seen[np.argsort(first[seen], kind="stable")]] = np.arange(len(seen))
        return number[keys]  # a key of -1 reads the last slot: -1
    uniq, first, inverse = np.unique(picked, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    if valid is None:
        return rank[inverse]
    out = np.full(n, -1, dtype=np.int64)
    out[valid] = rank[inverse]
    return out


class Items(NamedTuple):
    """Every row's item number (-1 where the row names no item), each item's first row,
    and the shape (model, condition, item) of the tensor."""

    item: np.ndarray
    first_row: np.ndarray
    shape: tuple[int, int, int]


def number_items(keys: dict[str, Key], units: Key, polarity, repeat: Key) -> Items:
    """Items numbered in order of first appearance, from the row codes alone (nothing
    here grows with the tensor; rows with an unknown micro-value or a bad polarity name
    no item)."""
    n_u, n_r = len(units.names), len(repeat.names)
    space = len(keys["scenario"].names) * n_u * 2 * n_r
    item_key = keys["scenario"].codes.astype(_index_type(space))
    item_key *= n_u
    item_key += units.codes
    item_key *= 2
    item_key += polarity < 0
    item_key *= n_r
    item_key += repeat.codes
    item_key[(units.codes < 0) | (polarity == 0)] = -1
    item = first_appearance(item_key, space)
    del item_key
    n_items = int(item.max()) + 1 if len(item) else 0
    has = None if len(item) == 0 or item.min() >= 0 else item >= 0
    first = np.full(max(n_items, 1), len(item), dtype=np.int64)
    np.minimum.at(first, item if has is None else item[has], _rows_of(has, len(item)))
    shape = (len(keys["model"].names), len(keys["condition"].names), n_items)
    return Items(item, first[:n_items], shape)


def dense_bytes(shape: tuple[int, int, int], n_rows: int, name_chars: int) -> int:
    """Peak bytes of :func:`dense_rows`, :func:`dense_tensor` and :func:`item_coords`, told
    from the shape: the larger of the counting stage (an int64 count per cell, and row
    indices) and the filling stage (the float32 tensor, beside the row indices and then
    the item coordinates, names as fixed-width unicode of ``name_chars`` characters)."""
    n_cells = int(np.prod(shape, dtype=np.int64))
    index = np.dtype(_index_type(n_cells)).itemsize
    counting = _COUNT_BYTES * n_cells + (16 + 2 * index) * n_rows
    per_item = 4 * name_chars + _ITEM_BYTES
    filling = _TENSOR_BYTES * n_cells + max(per_item * shape[-1], (8 + 2 * index) * n_rows)
    return max(counting, filling)


def dense_rows(keys: dict[str, Key], items: Items) -> DenseRows:
    """The tensor cell of every row; rows that share a cell are duplicates."""
    item, shape = items.item, items.shape
    has = None if len(item) == 0 or item.min() >= 0 else item >= 0
    model, cond = keys["model"].codes, keys["condition"].codes
    cell = model.astype(_index_type(int(np.prod(shape))))
    cell *= shape[1]
    cell += cond
    cell *= shape[2]
    cell += item
    picked = cell if has is None else cell[has]
    counts = np.bincount(picked, minlength=int(np.prod(shape)))
    duplicated = np.zeros(len(item), bool)
    if has is None:
        duplicated = counts[cell] > 1
    else:
        duplicated[has] = counts[picked] > 1
    return DenseRows(model, cond, item, items.first_row, shape, duplicated)


def dense_tensor(rows: DenseRows, col: Coded, rating_of_label, cond: Key, baseline: str):
    """rating[model, condition, item] (float32, NaN where not rated), the baseline first;
    and the condition names in that order."""
    order = [cond.names.index(baseline)] + [k for k, c in enumerate(cond.names) if c != baseline]
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    n_m, n_c, n_i = rows.shape
    tensor = np.full(n_m * n_c * n_i, np.nan, dtype=np.float32)
    cell = rows.model.astype(_index_type(tensor.size))
    cell *= n_c
    cell += position[rows.condition]
    cell *= n_i
    cell += rows.item
    tensor[cell] = col.lookup(rating_of_label, np.nan)
    return tensor.reshape(rows.shape), [cond.names[k] for k in order]


def item_coords(rows: DenseRows, scenario: Key, units: Key, polarity, repeat: Key,
                repeat_values) -> dict[str, np.ndarray]:  # fmt: skip
    """scenario, micro_value, polarity and repeat of each item, from its first row."""
    first = rows.item_first_row
    return {
        "scenario": np.array(scenario.names, dtype=str)[scenario.codes[first]],
        "micro_value": np.array(units.names, dtype=str)[units.codes[first]],
        "polarity": polarity[first].astype(np.int8),
        "repeat": repeat_values[repeat.codes[first]].astype(np.int64),
    }
