"""Saving and loading: netCDF for judgments and results, CSV/JSON for tables; atomic writes.

Every write goes to a temporary file in the target folder and is renamed into place, so
a crash never leaves a half-written result.

Example:
    >>> import tempfile, xarray as xr, vatjax
    >>> path = vatjax.save(xr.Dataset({"a": ("x", [1.0])}), tempfile.mkdtemp() + "/a.nc")
    >>> float(vatjax.load(path)["a"][0])
    1.0
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import xarray as xr

from vatjax.errors import VatInputError

__all__ = ["atomic_path", "load", "save", "write_table"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text()
        'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def save(obj: xr.Dataset | xr.DataArray | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a Dataset, DataArray or DataTree to netCDF (``.nc``) atomically; return the path.

    Example:
        >>> import tempfile, xarray as xr
        >>> save(xr.DataArray([1, 2], dims="x", name="n"), tempfile.mkdtemp() + "/n.nc").name
        'n.nc'
    """
    if Path(path).suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        raise VatInputError(f"save() writes netCDF: give a path ending in .nc, not {path!s}")
    if isinstance(obj, xr.DataArray):
        obj = obj.to_dataset(name=obj.name or "data", promote_attrs=True).assign_attrs(
            _vatjax_dataarray=obj.name or "data"
        )
    if not isinstance(obj, xr.Dataset | xr.DataTree):
        raise VatInputError(f"save() takes an xarray Dataset, DataArray or DataTree, not {obj!r}")
    return _write(path, lambda tmp: obj.to_netcdf(tmp, engine="h5netcdf"))


def load(path: str | os.PathLike) -> xr.Dataset | xr.DataArray | xr.DataTree:
    """Read what :func:`save` wrote, fully into memory (the file is closed afterwards)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    tree = xr.open_datatree(path, engine="h5netcdf")
    with tree:
        tree = tree.load()
    if tree.children:
        return tree
    ds = tree.to_dataset()
    name = ds.attrs.pop("_vatjax_dataarray", None)
    return ds[name].assign_attrs(ds.attrs) if name else ds


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV, JSON (records), Parquet or netCDF by the path's suffix, atomically."""
    suffix = Path(path).suffix.lower()
    writers = {
        ".csv": lambda tmp: df.to_csv(tmp, index=False),
        ".json": lambda tmp: df.to_json(tmp, orient="records", indent=1),
        ".jsonl": lambda tmp: df.to_json(tmp, orient="records", lines=True),
        ".parquet": lambda tmp: df.to_parquet(tmp, index=False),
    }
    if suffix not in writers:
        raise VatInputError(f"cannot write {path!s}: use a path ending in {sorted(writers)}")
    return _write(path, writers[suffix])
