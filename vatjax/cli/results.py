"""The one place that names the files of a results folder, and reads them back.

``vatjax demo`` writes every file of :data:`RESULT_FILES` into one folder;
``vatjax report`` reads the saved results (:data:`SAVED_RESULTS`) and the provenance.

Example:
    >>> RESULT_FILES["vat"], RESULT_FILES["provenance"]
    ('vat.nc', 'provenance.json')
    >>> SAVED_RESULTS[:5]
    ('vat', 'bootstrap', 'noise_floor', 'posterior', 'truth')
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vatjax.data import load
from vatjax.errors import VatInputError

__all__ = ["RESULT_FILES", "SAVED_RESULTS", "read_results"]

RESULT_FILES = {
    "judgments": "judgments.parquet",
    "truth": "truth.nc",
    "vat": "vat.nc",
    "bootstrap": "bootstrap.nc",
    "noise_floor": "noise_floor.nc",
    "table": "vat.csv",
    "posterior": "posterior.nc",
    "compare": "compare.nc",
    "power": "power.nc",
    "reliability": "reliability.nc",
    "circumplex": "circumplex.nc",
    "provenance": "provenance.json",
    "report": "report.html",
}
"""Result name -> file name in a results folder."""

SAVED_RESULTS = (
    "vat",
    "bootstrap",
    "noise_floor",
    "posterior",
    "truth",
    "compare",
    "power",
    "reliability",
    "circumplex",
)
"""The saved (netCDF) results a report reads; ``vat`` is required, the others optional
(``truth`` is the simulator's ground truth, which ``vatjax demo`` writes)."""


def read_results(folder: str | os.PathLike) -> dict:
    """Load the saved results of a folder (name -> Dataset or DataTree) and its provenance.

    Example:
        >>> import tempfile
        >>> read_results(tempfile.mkdtemp())
        Traceback (most recent call last):
        vatjax.errors.VatInputError: ... has no vat.nc: ...
    """
    folder = Path(folder)
    if not (folder / RESULT_FILES["vat"]).exists():
        raise VatInputError(
            f"{folder} has no {RESULT_FILES['vat']}: write one with `vatjax vat FILE --out "
            f"{folder}/{RESULT_FILES['vat']}` or run `vatjax demo`"
        )
    results = {
        name: load(folder / RESULT_FILES[name])
        for name in SAVED_RESULTS
        if (folder / RESULT_FILES[name]).exists()
    }
    provenance = folder / RESULT_FILES["provenance"]
    if provenance.exists():
        results["provenance"] = json.loads(provenance.read_text())
    return results
