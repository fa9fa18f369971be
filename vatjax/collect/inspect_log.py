"""Inspect AI logs of :func:`~vatjax.collect.inspect_task.vat_task` -> the judgments table.

Read through Inspect's own API (:func:`inspect_ai.log.read_eval_log` for the header,
:func:`inspect_ai.log.read_eval_log_samples` for the samples, streamed), never by
parsing its files. Each answered sample gives one row; its rating is parsed again from
the model's answer with vatjax's :func:`~vatjax.collect.parse_rating` (an answer without a
rating is a missing rating, as in the direct client's store), and its epoch e is repeat
e - 1. A sample that failed (Inspect's ``error``) gives no row: retry the eval
(``inspect eval-retry``). A sample found in several logs (an eval and its retry) is
taken from the newest log. In a folder, the logs of other tasks are skipped; a single
log of another task is an error.

Example:
    >>> import tempfile
    >>> load_inspect_log(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    vatjax.errors.VatInputError: no Inspect logs (.eval, .json) in ...
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from vatjax.collect.prompts import parse_rating
from vatjax.collect.table import TABLE_COLUMNS as STORE_COLUMNS
from vatjax.errors import VatInputError

__all__ = ["TABLE_COLUMNS", "TASK_NAME", "load_inspect_log"]

_AT = STORE_COLUMNS.index("micro_value") + 1
TABLE_COLUMNS = (*STORE_COLUMNS[:_AT], "value", *STORE_COLUMNS[_AT:])
"""Columns of :func:`load_inspect_log` (the long table of ``load_judgments``)."""
TASK_NAME = "vat_task"
"""The task whose logs are read (``vatjax/vat_task`` when run by name)."""
_NEEDED = ("scenario", "micro_value", "polarity", "condition", "strategy", "target", "direction")
_KEY = ["model", "condition", "scenario", "micro_value", "polarity", "repeat"]


def _inspect_log_api():
    try:
        from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_samples
    except ImportError as exc:
        raise VatInputError(
            "reading Inspect logs needs Inspect AI: pip install 'vatjax[inspect]'"
        ) from exc
    return list_eval_logs, read_eval_log, read_eval_log_samples


def _log_files(path: Path, list_eval_logs) -> list:
    """The log files under ``path`` (a log file or a folder of them)."""
    if not path.exists():
        raise VatInputError(f"no such Inspect log or log folder: {path}")
    if path.is_file():
        return [str(path)]
    logs = list_eval_logs(str(path), recursive=True)
    if not logs:
        raise VatInputError(
            f"no Inspect logs (.eval, .json) in {path}; give the log folder of an "
            "`inspect eval vatjax/vat_task` run, or one of its log files"
        )
    return logs


def _rows(log_file, header, model: str | None, read_eval_log_samples) -> list[dict]:
    """The rows of one log (VatInputError if it is not a vat_task log)."""
    label = model or header.eval.model
    where = getattr(log_file, "name", log_file)
    rows = []
    samples = read_eval_log_samples(
        log_file,
        all_samples_required=False,
        exclude_fields={"events", "messages", "store", "attachments"},
    )
    for sample in samples:
        meta = sample.metadata or {}
        missing = [k for k in _NEEDED if k not in meta]
        if missing:
            raise VatInputError(
                f"{where} is a log of the Inspect task {header.eval.task!r}, not of vatjax's "
                f"vat_task: its sample {sample.id!r} has no {missing} metadata. Load logs "
                "of `inspect eval vatjax/vat_task` (vatjax.collect.inspect_task.vat_task)"
            )
        if sample.error is not None:
            continue
        scale = (int(meta.get("scale_low", 1)), int(meta.get("scale_high", 5)))
        text = sample.output.completion if sample.output is not None else None
        row = {k: meta[k] for k in _NEEDED}
        row.update(
            model=label,
            value=meta.get("value", ""),
            repeat=int(sample.epoch) - 1,
            rating=parse_rating(text, scale),
            created=header.eval.created,
        )
        rows.append(row)
    return rows


def load_inspect_log(path: str | os.PathLike, *, model: str | None = None) -> pd.DataFrame:
    """The judgments table of Inspect logs of ``vat_task`` (a log file or a log folder).

    Args:
        path: an Inspect log file (.eval or .json) or a folder of them (searched
            recursively).
        model: the ``model`` label of every row (default: each log's model, such as
            ``openai/gpt-4o-mini``); give a checkpoint's base model to pair its ratings
            with the base model's baseline.

    Returns:
        DataFrame with columns model, condition, strategy, target, direction, scenario,
        micro_value, value, polarity, repeat, rating (NaN: no rating in the answer), the
        long table :func:`vatjax.load_judgments` reads.

    Raises:
        VatInputError: no logs, or a log of another task (its samples lack vatjax's
            metadata), or Inspect AI is not installed.

    Example:
        >>> load_inspect_log("no/such/log.eval")
        Traceback (most recent call last):
        ...
        vatjax.errors.VatInputError: no such Inspect log or log folder: no/such/log.eval
    """
    list_eval_logs, read_eval_log, read_eval_log_samples = _inspect_log_api()
    rows: list[dict] = []
    files, others = _log_files(Path(path), list_eval_logs), set()
    for log_file in files:
        try:
            header = read_eval_log(log_file, header_only=True)
        except (ValueError, OSError) as exc:
            name = getattr(log_file, "name", log_file)
            raise VatInputError(
                f"cannot read {name} as an Inspect log ({exc}); is it cut short, or not "
                "a log of `inspect eval`?"
            ) from exc
        if len(files) > 1 and not header.eval.task.endswith(TASK_NAME):
            others.add(header.eval.task)  # a shared log folder: other evals are skipped
            continue
        rows.extend(_rows(log_file, header, model, read_eval_log_samples))
    if others and not rows:
        raise VatInputError(
            f"the Inspect logs in {path} are of the task(s) {sorted(others)}, none of "
            "vatjax's vat_task; run `inspect eval vatjax/vat_task` or give its log"
        )
    if not rows:
        raise VatInputError(
            f"the Inspect logs in {path} hold no answered sample (every sample failed or "
            "the eval did not start); rerun it with `inspect eval-retry`"
        )
    table = pd.DataFrame(rows).sort_values("created", kind="stable")
    table = table.drop_duplicates(_KEY, keep="last")
    table["rating"] = table["rating"].astype("float64")
    sort = ["model", "condition", "scenario", "micro_value", "polarity", "repeat"]
    return table.sort_values(sort, kind="stable")[list(TABLE_COLUMNS)].reset_index(drop=True)
