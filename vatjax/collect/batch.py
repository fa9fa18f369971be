"""Collection through the OpenAI Batch API: request files out, result files in.

:func:`write_batch_requests` plans a run as :func:`~vatjax.collect.collect` does and
writes one request line per judgment not yet answered in the store::

    {"custom_id": "vat-1f2e3d4c-c1-i17-r0", "method": "POST",
     "url": "/v1/chat/completions", "body": {"model": ..., "messages": ..., ...}}

The body is the live client's (:func:`~vatjax.collect.protocol.request_body`). The
``custom_id`` names the store (its 8-hex id), the condition, the item and the repeat
(their ids in the store). The requests are registered in the store (status
``requested``) before any file is written. Files are split at the API's limits,
:data:`MAX_REQUESTS` requests or :data:`MAX_BYTES` bytes: ``requests.jsonl``, then
``requests-002.jsonl``, ``requests-003.jsonl``, ... (:func:`batch_paths`); each is
written to a temporary file and renamed.

:func:`ingest_batch_results` reads the output files (``{"id", "custom_id", "response":
{"status_code", "body"}, "error"}``) into the same store, with the live client's parser
and status rules (``ok``, ``unparsed``, ``error``) and its redaction of the API key.
An ingest is all or nothing: a line that is not JSON (a truncated file), a line that is
not a batch result, or a ``custom_id`` this store never wrote stops it with an error
naming the file and line, and the store is left exactly as it was.

Example:
    >>> import json, tempfile, pathlib
    >>> from vatjax.collect import demo_items_path
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sent = write_batch_requests(demo_items_path(), ["pre"], model="m",
    ...                             out=d / "s.sqlite", requests=d / "requests.jsonl")
    >>> sent.requests, [p.name for p in sent.files]
    (120, ['requests.jsonl'])
    >>> line = json.loads((d / "requests.jsonl").read_text().splitlines()[0])
    >>> answer = {"choices": [{"message": {"content": "4"}, "finish_reason": "stop"}]}
    >>> result = {"custom_id": line["custom_id"], "response": {"status_code": 200, "body": answer}}
    >>> _ = (d / "results.jsonl").write_text(json.dumps(result) + "\\n")
    >>> got = ingest_batch_results([d / "results.jsonl"], out=d / "s.sqlite")
    >>> got.answered, got.errors
    (1, 0)
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vatjax.collect.planning import plan, rate, resume
from vatjax.collect.protocol import ChatResult, error_text, parse_completion, request_body
from vatjax.collect.redact import Redactor
from vatjax.collect.store import (
    STATUS,
    JudgmentStore,
    pack_key,
    unpack_key,
)
from vatjax.errors import VatInputError

__all__ = [
    "MAX_BYTES",
    "MAX_REQUESTS",
    "BatchIngest",
    "BatchRequests",
    "batch_paths",
    "ingest_batch_results",
    "write_batch_requests",
]

MAX_REQUESTS = 50_000
"""Most requests in one batch file (the OpenAI Batch API's limit)."""
MAX_BYTES = 200_000_000
"""Most bytes in one batch file (the API's 200 MB)."""
URL = "/v1/chat/completions"
_CID = re.compile(r"vat-([0-9a-f]{8})-c(\d+)-i(\d+)-r(\d+)")
_UPDATE = """UPDATE judgments SET status = ?, rating = ?, raw = ?, error = ?,
detail = json_patch(IFNULL(detail, '{}'), ?) WHERE key = ? AND (? < 2 OR ? <= status)"""
"""Store a result: an answer always, a failure only over a failure or a request."""
_CHUNK = 20_000


@dataclass
class BatchRequests:
    """What :func:`write_batch_requests` wrote: ``requests`` lines in ``files``;
    ``skipped`` judgments were already answered in the store ``out``."""

    files: list[Path]
    requests: int
    skipped: int
    out: Path


@dataclass
class BatchIngest:
    """What :func:`ingest_batch_results` stored: ``lines`` results, of which ``answered``
    held an answer (``unparsed`` of those no rating) and ``errors`` a failure."""

    lines: int = 0
    answered: int = 0
    unparsed: int = 0
    errors: int = 0
    out: Path | None = None
    files: list[Path] = field(default_factory=list)


def batch_paths(path: str | os.PathLike, n: int) -> list[Path]:
    """The names of ``n`` batch files: ``path``, then ``<stem>-002<suffix>``, ...

    Example:
        >>> [p.name for p in batch_paths("out/requests.jsonl", 3)]
        ['requests.jsonl', 'requests-002.jsonl', 'requests-003.jsonl']
    """
    path = Path(path)
    return [path] + [path.with_name(f"{path.stem}-{k:03d}{path.suffix}") for k in range(2, n + 1)]


def write_batch_requests(
    items,
    conditions,
    *,
    model: str,
    out: str | os.PathLike,
    requests: str | os.PathLike,
    max_requests: int = MAX_REQUESTS,
    max_bytes: int = MAX_BYTES,
    fsync: bool = True,
    **options,
) -> BatchRequests:
    """Write Batch API request files for every judgment the store ``out`` lacks.

    ``items``, ``conditions``, ``model`` and ``**options`` are those of
    :func:`~vatjax.collect.collect` (``repeats``, ``temperature``, ``seed``, ...);
    ``requests`` names the first file (see the module docstring).
    """
    if max_requests < 1 or max_bytes < 1024:
        raise VatInputError("max_requests must be >= 1 and max_bytes >= 1024")
    jobs, _ = plan(items, conditions, model=model, **options)
    with JudgmentStore(out, fsync=fsync) as store:
        done, keys = resume(store, jobs)
        todo = np.flatnonzero(~done)
        prompts, sid = jobs.prompt_ints(), store.store_id
        first = keys.reshape(len(jobs.conditions), -1)[:, 0]  # a key of each condition
        with store.transaction() as conn:
            for start in range(0, len(todo), _CHUNK):
                store.write_rows([
                    (int(keys[n]), STATUS["requested"], None, int(prompts[n]), None, None,
                     _pending_detail(jobs[n].request))
                    for n in todo[start : start + _CHUNK].tolist()
                ])  # fmt: skip
            conn.executemany(
                "UPDATE conditions SET scale_low = ?, scale_high = ? WHERE id = ?",
                [(*jobs.promptings[c].scale, int(first[c]) >> 44)
                 for c in np.unique(jobs.condition_index(todo)).tolist()],
            )  # fmt: skip
        lines = (_request_line(sid, int(keys[n]), jobs[n]) for n in todo)
        files = _write_split(lines, Path(requests), max_requests, max_bytes, fsync)
    return BatchRequests(files, len(todo), int(done.sum()), store.path)


def _pending_detail(request: dict) -> str:
    """What a requested row keeps of its request, under the names of a live record."""
    detail = {"served_model": request["model"], "endpoint": "batch"}
    detail.update(temperature=request["temperature"], seed=request["seed"])
    return json.dumps(detail)


def _request_line(sid: str, key: int, job) -> bytes:
    c, i, r = unpack_key(key)
    body = request_body(job.messages, **job.request)
    line = {"custom_id": f"vat-{sid}-c{c}-i{i}-r{r}", "method": "POST", "url": URL, "body": body}
    return (json.dumps(line, ensure_ascii=False) + "\n").encode()


def _write_split(lines, first: Path, max_requests: int, max_bytes: int, fsync: bool):
    """Write lines into files of at most ``max_requests`` lines and ``max_bytes`` bytes."""
    first.parent.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    fh, count, size = None, 0, 0
    try:
        for line in lines:
            if fh is None or count >= max_requests or size + len(line) > max_bytes:
                if fh is not None:
                    _finish(fh, files[-1], fsync)
                files.append(batch_paths(first, len(files) + 1)[-1])
                fh = open(_tmp(files[-1]), "wb")  # closed in _finish
                count, size = 0, 0
            fh.write(line)
            count, size = count + 1, size + len(line)
        if fh is not None:
            _finish(fh, files[-1], fsync)
            fh = None
    finally:
        if fh is not None:
            fh.close()
            _tmp(files[-1]).unlink(missing_ok=True)
    return files


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _finish(fh, path: Path, fsync: bool) -> None:
    fh.flush()
    if fsync:
        os.fsync(fh.fileno())
    fh.close()
    os.replace(_tmp(path), path)


def ingest_batch_results(
    paths, *, out: str | os.PathLike, api_key_env: str | None = "OPENAI_API_KEY", fsync=True
) -> BatchIngest:
    """Store the answers of Batch API output files (see the module docstring).

    Raises:
        VatInputError: a line that is not JSON or not a batch result, or a ``custom_id``
            not written for this store; nothing is stored then.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, str | os.PathLike) else paths)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise VatInputError(f"no such batch results file: {', '.join(missing)}")
    redact = Redactor(os.environ.get(api_key_env, "") if api_key_env else "")
    with JudgmentStore(out, fsync=fsync) as store:
        summary = BatchIngest(out=store.path, files=paths)
        reader = _Reader(store, redact, summary)
        with store.transaction() as conn:
            for path in paths:
                for chunk, answers in reader.rows(path):  # an update keeps the row's prompt
                    store.mark_answered(list(answers), list(answers.values()), held=answers)
                    conn.executemany(_UPDATE, chunk)
    return summary


class _Reader:
    """Turns result lines into ``_UPDATE`` rows, checking each against the store."""

    def __init__(self, store: JudgmentStore, redact: Redactor, summary: BatchIngest):
        self.store = store
        self.scales = {
            cid: (lo or 1, hi or 5)
            for cid, lo, hi in store.conn.execute(
                "SELECT id, scale_low, scale_high FROM conditions"
            )
        }
        self.sid, self.path, self.redact, self.summary = store.store_id, store.path, redact, summary

    def rows(self, path: Path):
        """(rows, {answered key: its prompt hash}) in chunks of one file; raises on the
        first bad line."""
        chunk, where = [], []
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                chunk.append(self._row(line, path, lineno))
                where.append(lineno)
                if len(chunk) >= _CHUNK:
                    yield chunk, self._check(chunk, where, path)
                    chunk, where = [], []
        yield chunk, self._check(chunk, where, path)

    def _check(self, chunk: list[tuple], where: list[int], path: Path) -> dict[int, int]:
        """Refuse a key the store does not hold; {answered key: prompt hash} of the chunk."""
        held = self.store.lookup([r[5] for r in chunk])
        for row, lineno in zip(chunk, where, strict=True):
            if row[5] not in held:
                c, i, r = unpack_key(row[5])
                raise VatInputError(
                    f"{path}, line {lineno}: custom_id 'vat-{self.sid}-c{c}-i{i}-r{r}' is "
                    f"unknown: it was not written for this store ({self.path}) by --batch-out; "
                    "ingest the results of this store's own request files (nothing was stored)"
                )
        return {r[5]: held[r[5]][1] for r in chunk if r[0] < 2}

    def _row(self, line: bytes, path: Path, lineno: int) -> tuple:
        def bad(problem: str) -> VatInputError:
            return VatInputError(
                f"{path}, line {lineno}: {problem}; give the Batch API's output file as it was "
                "downloaded (nothing was stored)"
            )

        try:
            obj = json.loads(line)
        except ValueError:
            raise bad("not valid JSON (a truncated or damaged line)") from None
        cid = obj.get("custom_id") if isinstance(obj, dict) else None
        if not isinstance(cid, str):
            raise bad("not a batch result (no custom_id)")
        m = _CID.fullmatch(cid)
        if m is None or m.group(1) != self.sid:
            raise bad(
                f"custom_id {cid!r} is unknown: it was not written for this store "
                f"({self.path}, id {self.sid}) by --batch-out"
            )
        cond, item, repeat = (int(g) for g in m.groups()[1:])
        result = self._result(obj, bad)
        rating, status = rate(result, self.scales.get(cond, (1, 5)))
        self._tally(status)
        detail = {"attempts": 1, "http_status": result.status, "finish_reason": result.finish_reason,
                  "batch_request_id": obj.get("id")}  # fmt: skip
        code, key = STATUS[status], pack_key(cond, item, repeat)
        return (code, rating, result.text, result.error, json.dumps(detail), key, code, code)

    def _result(self, obj: dict, bad) -> ChatResult:
        error, response = obj.get("error"), obj.get("response")
        if error:
            if isinstance(error, dict):
                error = f"{error.get('code', 'error')}: {error.get('message', '')}"
            return ChatResult(
                None, error="batch error " + " ".join(self.redact(str(error)).split())
            )
        if not isinstance(response, dict) or "status_code" not in response:
            raise bad("not a batch result (neither a response with a status_code nor an error)")
        status, body = response["status_code"], response.get("body")
        if status == 200:
            return parse_completion(body, self.redact)
        return ChatResult(None, error=error_text(status, body, self.redact), status=status)

    def _tally(self, status: str) -> None:
        s = self.summary
        s.lines += 1
        if status == "error":
            s.errors += 1
        else:
            s.answered += 1
            s.unparsed += status == "unparsed"
