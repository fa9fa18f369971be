"""lm-evaluation-harness sample logs (``--log_samples``) -> the judgments table.

``lm_eval ... --output_path OUT --log_samples`` writes ``OUT/<model>/samples_<task>_<date>
.jsonl``: one line per document (and filter) with the ``doc`` it was built from, the
``arguments`` sent, the raw ``resps`` and the ``filtered_resps``. A VAT task's documents
carry the item's scenario, micro-value and polarity under names of its own: ``fields``
maps them (``{"doc_field": "vatjax_field"}``, dotted names reach into nested objects).
The rating is parsed from ``filtered_resps`` with vatjax's
:func:`~vatjax.collect.parse_rating`; a generation task with ``repeats`` gives one
answer per repeat.

Example:
    >>> import json, tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp()) / "org__judge-7b"
    >>> run.mkdir()
    >>> doc = {"sid": "s1", "item": "Wealth", "sign": "-1"}
    >>> line = {"doc_id": 0, "doc": doc, "target": "", "arguments": {}, "filter": "none",
    ...         "resps": [["Rating: 2"]], "filtered_resps": ["Rating: 2"]}
    >>> _ = (run / "samples_vat_2025-01-01.jsonl").write_text(json.dumps(line) + "\\n")
    >>> t = load_lm_eval_samples(run, fields={"sid": "scenario", "item": "micro_value",
    ...                                       "sign": "polarity"})
    >>> t.loc[0, ["model", "condition", "micro_value", "polarity"]].tolist(), t["rating"][0]
    (['org/judge-7b', 'pre', 'Wealth', 'suppress'], np.float64(2.0))
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from vatjax.collect.item_schema import polarity_of, propose_fields, scenario_id
from vatjax.collect.prompts import parse_rating
from vatjax.collect.steering import parse_condition
from vatjax.data.table import cell_text
from vatjax.errors import VatInputError

__all__ = ["LM_EVAL_FIELDS", "load_lm_eval_samples"]

LM_EVAL_FIELDS = (
    "scenario",
    "micro_value",
    "polarity",
    "condition",
    "strategy",
    "target",
    "direction",
)
"""The vatjax fields a document field may map onto (the first three are required)."""
_REQUIRED = LM_EVAL_FIELDS[:3]
_CONDITION = ("strategy", "target", "direction")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise VatInputError(f"no such lm-eval sample log or output folder: {path}")
    files = sorted(path.rglob("samples_*.jsonl"))
    if not files:
        raise VatInputError(
            f"no lm-eval sample logs (samples_*.jsonl) under {path}; run lm_eval with "
            "--log_samples and give its --output_path or one samples file"
        )
    return files


def _lines(path: Path):
    """(line number, record) of a samples file; a bad line is an error naming it."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                msg = f"{path} line {n} is not JSON ({exc}); is it cut short?"
                raise VatInputError(msg) from None
            if not isinstance(rec, dict) or "doc" not in rec or "filtered_resps" not in rec:
                raise VatInputError(
                    f"{path} line {n} is not an lm-eval sample (it needs 'doc' and "
                    "'filtered_resps'); give the samples_*.jsonl that --log_samples writes"
                )
            yield n, rec


def _get(doc: Mapping, dotted: str):
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _answers(filtered) -> list[str | None]:
    """One answer per repeat: ``["text"]``, ``[["a", "b"]]`` (repeats) or ``"text"``."""
    if isinstance(filtered, list) and len(filtered) == 1:
        filtered = filtered[0]
    if isinstance(filtered, str) or filtered is None:
        return [filtered]
    if isinstance(filtered, list) and all(isinstance(x, str) or x is None for x in filtered):
        return list(filtered)
    raise VatInputError(
        f"filtered_resps {str(filtered)[:80]} holds no generated text (a loglikelihood "
        "task?); give VAT items to lm-eval as a generate_until task"
    )


def _mapping(fields: Mapping[str, str] | None) -> dict[str, str]:
    """vatjax field -> document field (identity for the fields not mapped)."""
    by_vat = {f: f for f in _REQUIRED}
    for src, dst in (fields or {}).items():
        if dst not in LM_EVAL_FIELDS:
            raise VatInputError(
                f"fields maps {src!r} onto {dst!r}, which is not a judgment field; map "
                f"document fields onto {list(LM_EVAL_FIELDS)}"
            )
        by_vat[dst] = src
    return by_vat


def _discover(records, by_vat: dict[str, str], given) -> bool:
    """Fill the required fields that ``fields`` does not map (``given``) and the
    documents lack from a proposal on their columns
    (:func:`~vatjax.collect.item_schema.propose_fields`); True: the scenario id is
    derived from the scenario text."""
    docs = pd.json_normalize([rec["doc"] for _, rec in records[:500]])
    lacking = [f for f in _REQUIRED if f not in given and by_vat[f] not in docs.columns]
    if not lacking:
        return False
    mapped = {s for f, s in by_vat.items() if f not in lacking and s in docs.columns}
    proposal = propose_fields(docs.drop(columns=list(mapped)), actions=False)
    for src, dst in proposal.fields.items():
        if dst in lacking or (dst == "scenario_text" and proposal.derived_scenario):
            by_vat["scenario" if dst == "scenario_text" else dst] = src
    return proposal.derived_scenario and "scenario" in lacking


def _condition_meta(name: str, cache: dict) -> dict:
    """strategy, target, direction of a condition named as a spec (pre, fewshot:...)."""
    if name not in cache:
        try:
            c = parse_condition(name)
        except VatInputError as exc:
            raise VatInputError(
                f"condition {name!r} is not a condition spec ({exc}); name conditions as "
                "specs (pre, fewshot:TARGET:DIRECTION:K, ...) or map document fields onto "
                "strategy, target and direction"
            ) from exc
        cache[name] = {"strategy": c.strategy, "target": c.target, "direction": c.direction}
    return cache[name]


def _record_rows(rec, where, by_vat, model, condition, cache, scale, derived):
    doc = rec["doc"] if isinstance(rec["doc"], Mapping) else {}
    try:
        row = {dst: _get(doc, src) for dst, src in by_vat.items()}
    except KeyError as exc:
        vat = next(d for d, s in by_vat.items() if s == exc.args[0])
        raise VatInputError(
            f"{where}: the document has no field {exc.args[0]!r} for {vat!r}; its fields are "
            f"{sorted(doc)}. Map them with fields={{'doc_field': '{vat}'}}"
        ) from None
    row["polarity"] = polarity_of(cell_text(row["polarity"])) or row["polarity"]
    if derived:
        row["scenario"] = scenario_id(row["scenario"])
    row.setdefault("condition", condition)
    if not all(k in row for k in _CONDITION):
        row = {**_condition_meta(str(row["condition"]), cache), **row}
    rows = []
    for r, text in enumerate(_answers(rec["filtered_resps"])):
        rows.append({**row, "model": model, "repeat": r, "rating": parse_rating(text, scale)})
    return rows


def load_lm_eval_samples(
    path: str | os.PathLike,
    *,
    fields: Mapping[str, str] | None = None,
    model: str | None = None,
    condition: str = "pre",
    filter: str | None = None,
    scale: tuple[int, int] = (1, 5),
) -> pd.DataFrame:
    """The judgments table of lm-evaluation-harness ``--log_samples`` files.

    Args:
        path: a ``samples_*.jsonl`` file or an lm-eval ``--output_path`` folder.
        fields: maps document fields onto ``scenario``, ``micro_value``, ``polarity``
            (required: unmapped ones are read under those names, or else proposed from
            the documents' fields and values, as :func:`~vatjax.collect.load_items`
            does) and optionally ``condition``, ``strategy``, ``target``, ``direction``.
            Polarity words (positive/negative, support/oppose, ...) read as
            express/suppress.
        model: the ``model`` label (default: the file's folder, lm-eval's sanitized model
            name, ``__`` read back as ``/``).
        condition: the condition of every row when no document field is mapped onto
            ``condition``; a spec such as ``fewshot:Power:suppress:4`` gives strategy,
            target and direction.
        filter: the lm-eval filter whose answers to read, when a task logs several.
        scale: the rating scale.

    Returns:
        DataFrame with columns model, condition, strategy, target, direction, scenario,
        micro_value, polarity, repeat, rating (NaN: no rating in the answer), for
        :func:`vatjax.load_judgments`.
    """
    by_vat, cache, rows, derived = _mapping(fields), {}, [], None
    for file in _files(Path(path)):
        label = model or file.parent.name.replace("__", "/")
        records = list(_lines(file))
        filters = sorted({str(rec.get("filter", "none")) for _, rec in records})
        if filter is None and len(filters) > 1:
            raise VatInputError(
                f"{file} logs the answers of several lm-eval filters {filters}; choose one "
                "with filter="
            )
        if derived is None and records:
            derived = _discover(records, by_vat, set((fields or {}).values()))
        for n, rec in records:
            if filter is None or str(rec.get("filter", "none")) == filter:
                where = f"{file} line {n}"
                rows += _record_rows(rec, where, by_vat, label, condition, cache, scale, derived)
    if not rows:
        raise VatInputError(f"no lm-eval samples with filter {filter!r} under {path}")
    cols = ["model", "condition", *_CONDITION, *_REQUIRED, "repeat", "rating"]
    table = pd.DataFrame(rows)[cols]
    table["rating"] = table["rating"].astype("float64")
    return table
