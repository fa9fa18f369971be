"""Collection runs: items x conditions x repeats -> answers in a resumable store.

Example (against the built-in test server; a real run names your endpoint)::

    >>> import tempfile, pathlib
    >>> from vatjax.collect import collect, demo_items_path, store_to_table
    >>> from vatjax.testing import FakeChatServer
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "judgments.jsonl"
    >>> with FakeChatServer() as server:
    ...     summary = collect(demo_items_path(), ["pre", "fewshot:Power:suppress:2"],
    ...                       endpoint=server.url, model="demo", out=out)
    >>> summary.answered == summary.total == 2 * 80  # 8 of 12 scenarios; 4 held out
    True
    >>> sorted(store_to_table(out)["condition"].unique())
    ['fewshot:Power:suppress:2', 'pre']
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd

from vatjax.collect.client import MAX_CONNECT_FAILURES, ChatClient, RetryPolicy
from vatjax.collect.items import load_items, split_items
from vatjax.collect.prompts import JUDGE_TEMPLATE, check_template, parse_rating
from vatjax.collect.steering import Condition, build_messages, fewshot_examples, parse_condition
from vatjax.collect.store import KEY_FIELDS, JudgmentStore
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["CollectSummary", "Progress", "collect", "collect_async", "plan"]

Progress = Callable[[int, int, int], None]
"""Progress callback: ``progress(done, total, errors)`` after every answer."""


@dataclass
class CollectSummary:
    """What a collection run did.

    ``total`` requests were planned, ``skipped`` of them were already in the store,
    ``answered`` got an answer (``unparsed`` of those held no rating, stored as missing),
    ``errors`` failed after every retry (a rerun retries them); ``retries`` counts
    retried attempts.
    """

    total: int
    skipped: int = 0
    answered: int = 0
    unparsed: int = 0
    errors: int = 0
    retries: int = 0
    elapsed_s: float = 0.0
    out: Path | None = None
    by_condition: dict[str, dict[str, int]] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Answers (and failures) per second of this run."""
        n = self.answered + self.errors
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def remaining(self) -> int:
        return self.total - self.skipped - self.answered

    def __str__(self) -> str:
        head = "interrupted" if self.interrupted else "done"
        lines = [
            f"{head}: {self.answered} answered ({self.unparsed} without a rating, stored as "
            f"missing), {self.errors} failed, {self.skipped} already in the store, "
            f"{self.retries} retries, {self.elapsed_s:.1f} s ({self.rate:.1f}/s)"
        ]
        if self.remaining:
            lines.append(
                f"{self.remaining} of {self.total} judgments are still missing: run the same "
                "command again to collect them"
            )
        if self.out is not None:
            lines.append(f"store: {self.out}")
        return "\n".join(lines)


@dataclass
class _Job:
    key: tuple
    condition: Condition
    item: dict
    messages: list
    sha: str
    request: dict  # model (the served one), temperature, seed (seed + repeat), max_tokens
    scale: tuple[int, int]


def _prompt_sha(messages, model, temperature, max_tokens) -> str:
    blob = json.dumps(
        {"messages": messages, "model": model, "temperature": temperature, "max": max_tokens},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _conditions(conditions, taxonomy) -> list[Condition]:
    if isinstance(conditions, str | Condition):
        conditions = [conditions]
    conds = [
        c if isinstance(c, Condition) else parse_condition(c, taxonomy=taxonomy) for c in conditions
    ]
    if not conds:
        raise VatInputError("no condition given; pass at least one, e.g. 'pre'")
    names = [c.name for c in conds]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise VatInputError(f"conditions {dups} are given more than once; give each once")
    return conds


def plan(
    items: str | os.PathLike | pd.DataFrame,
    conditions: Iterable[str | Condition] | str,
    *,
    model: str,
    repeats: int = 1,
    temperature: float | None = 0.0,
    max_tokens: int | None = None,
    seed: int | None = 0,
    examples: str | os.PathLike | pd.DataFrame | None = None,
    holdout: float = 0.3,
    judge_template: str = JUDGE_TEMPLATE,
    system: str | None = None,
    fields: Mapping[str, str] | None = None,
    scale: tuple[int, int] = (1, 5),
    taxonomy: Taxonomy = SCHWARTZ,
) -> tuple[list[_Job], pd.DataFrame]:
    """Every request of a run, and the evaluated items (see :func:`collect` for the args).

    With a few-shot condition, its examples come from ``examples`` if given, else from
    the scenarios :func:`~vatjax.collect.items.split_items` holds out (``holdout``); the
    held-out scenarios are then evaluated under no condition, the baseline included, so
    that every condition judges the same items.
    """
    if repeats < 1:
        raise VatInputError(f"repeats must be >= 1, got {repeats}")
    if not str(model).strip():
        raise VatInputError("give the model name (--model)")
    check_template(judge_template)
    conds = _conditions(conditions, taxonomy)
    bank = load_items(items, fields=fields, taxonomy=taxonomy)
    evaluate, pool = bank, None
    if any(c.kind == "fewshot" for c in conds):
        if examples is not None:
            pool = load_items(examples, fields=fields, taxonomy=taxonomy)
            shared = sorted(set(pool["scenario"]) & set(bank["scenario"]))
            if shared:
                raise VatInputError(
                    f"the example file shares scenarios {shared[:8]} with the evaluated "
                    "items; few-shot examples must come from held-out scenarios"
                )
        else:
            evaluate, pool = split_items(bank, holdout, seed=0 if seed is None else seed)
    jobs: list[_Job] = []
    for cond in conds:
        shots = (
            fewshot_examples(pool, cond, seed=0 if seed is None else seed, scale=scale)
            if cond.kind == "fewshot"
            else []
        )
        served = cond.model or model
        for item in evaluate.to_dict("records"):
            messages = build_messages(
                item, cond, shots=shots, template=judge_template, system=system, scale=scale
            )
            sha = _prompt_sha(messages, served, temperature, max_tokens)
            for r in range(repeats):
                key = (model, cond.name, item["scenario"], item["micro_value"], item["polarity"], r)
                request = {
                    "model": served,
                    "temperature": temperature,
                    "seed": None if seed is None else seed + r,
                    "max_tokens": max_tokens,
                }
                jobs.append(_Job(key, cond, item, messages, sha, request, scale))
    return jobs, evaluate


def _check_resumable(jobs: list[_Job], done: dict, path: Path) -> None:
    """Refuse to resume a store whose answers were asked with another protocol."""
    changed = [j for j in jobs if j.key in done and done[j.key].get("prompt_sha") != j.sha]
    if changed:
        shown = ", ".join(str(dict(zip(KEY_FIELDS, j.key, strict=True))) for j in changed[:3])
        raise VatInputError(
            f"{len(changed)} judgment(s) in {path} were collected with a different "
            f"prompt, model, temperature or max_tokens (e.g. {shown}); resuming would mix "
            "two protocols. Write to a new --out file, or give the condition a new name"
        )


def _new_summary(jobs: list[_Job], done: dict, path: Path) -> CollectSummary:
    todo = sum(j.key not in done for j in jobs)
    summary = CollectSummary(total=len(jobs), skipped=len(jobs) - todo, out=path)
    for j in jobs:
        per = summary.by_condition.setdefault(
            j.condition.name,
            {"total": 0, "stored": 0, "answered": 0, "unparsed": 0, "errors": 0},
        )
        per["total"] += 1
        per["stored"] += j.key in done
    return summary


def _clients(todo: list[_Job], endpoint: str, **client_options) -> dict[str, ChatClient]:
    """One client per endpoint the pending jobs use (a checkpoint may name its own)."""
    clients: dict[str, ChatClient] = {}
    for cond in {j.condition.name: j.condition for j in todo}.values():
        url = cond.endpoint or endpoint
        if url not in clients:
            clients[url] = ChatClient(url, **client_options)
    return clients


async def _judge(job: _Job, client: ChatClient) -> dict:
    """Ask one request; its store record (status ok, unparsed or error)."""
    cond = job.condition
    started = datetime.now(UTC)
    res = await client.complete(job.messages, **job.request)
    rating = parse_rating(res.text, job.scale) if res.ok else None
    status = "error" if not res.ok else ("ok" if rating is not None else "unparsed")
    record = dict(zip(KEY_FIELDS, job.key, strict=True))
    record.update(
        strategy=cond.strategy,
        target=cond.target,
        direction=cond.direction,
        value=job.item["value"],
        rating=rating,
        status=status,
        raw=res.text,
        error=res.error,
        served_model=job.request["model"],
        endpoint=client.endpoint,
        temperature=job.request["temperature"],
        seed=job.request["seed"],
        prompt_sha=job.sha,
        attempts=res.attempts,
        http_status=res.status,
        finish_reason=res.finish_reason,
        latency_s=round(res.latency_s, 6),
        started_at=started.isoformat(timespec="milliseconds"),
    )
    return record


def _tally(summary: CollectSummary, condition: str, status: str) -> None:
    per = summary.by_condition[condition]
    if status == "error":
        summary.errors += 1
        per["errors"] += 1
    else:
        summary.answered += 1
        per["answered"] += 1
        if status == "unparsed":
            summary.unparsed += 1
            per["unparsed"] += 1


async def _run_jobs(todo, clients, endpoint, store, summary, progress, concurrency) -> None:
    """Work through the pending jobs with ``concurrency`` workers, storing each answer."""
    queue: asyncio.Queue[_Job] = asyncio.Queue()
    for j in todo:
        queue.put_nowait(j)

    async def worker() -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            record = await _judge(job, clients[job.condition.endpoint or endpoint])
            await store.append_async(record)
            _tally(summary, job.condition.name, record["status"])
            if progress:
                progress(summary.skipped + summary.answered, summary.total, summary.errors)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        summary.interrupted = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def collect_async(
    items: str | os.PathLike | pd.DataFrame,
    conditions: Iterable[str | Condition] | str,
    *,
    endpoint: str,
    model: str,
    out: str | os.PathLike,
    concurrency: int = 8,
    timeout: float = 60.0,
    retry: RetryPolicy | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    fsync: bool = True,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connect_failures: int = MAX_CONNECT_FAILURES,
    **options,
) -> CollectSummary:
    """Asynchronous :func:`collect` (for code already inside an event loop).

    ``**options`` are those of :func:`plan`: ``repeats``, ``temperature``, ``seed``,
    ``max_tokens``, ``examples``, ``holdout``, ``judge_template``, ``system``, ``fields``,
    ``scale`` and ``taxonomy``.
    """
    jobs, _ = plan(items, conditions, model=model, **options)
    if concurrency < 1:
        raise VatInputError(f"concurrency must be >= 1, got {concurrency}")
    start = time.perf_counter()
    with JudgmentStore(out, fsync=fsync) as store:
        done = store.done()
        _check_resumable(jobs, done, store.path)
        todo = [j for j in jobs if j.key not in done]
        summary = _new_summary(jobs, done, store.path)
        if progress:
            progress(summary.skipped, summary.total, 0)
        clients = _clients(
            todo,
            endpoint,
            api_key_env=api_key_env,
            timeout=timeout,
            retry=retry,
            concurrency=concurrency,
            transport=transport,
            max_connect_failures=max_connect_failures,
        )
        try:
            await _run_jobs(todo, clients, endpoint, store, summary, progress, concurrency)
        finally:
            await store.drain()
            summary.retries = sum(c.retries for c in clients.values())
            summary.elapsed_s = time.perf_counter() - start
            for c in clients.values():
                await c.aclose()
    return summary


def collect(
    items: str | os.PathLike | pd.DataFrame,
    conditions: Iterable[str | Condition] | str,
    *,
    endpoint: str,
    model: str,
    out: str | os.PathLike,
    **options,
) -> CollectSummary:
    """Judge every item under every condition and append each answer to a store.

    Resumable: keys already answered in ``out`` are skipped, so rerunning after a crash,
    Ctrl-C or a failed request collects only what is missing. A refusing endpoint stops the
    run with :class:`~vatjax.collect.FatalEndpointError` (HTTP 401, 403, 404) or
    :class:`~vatjax.collect.EndpointUnreachableError` (``max_connect_failures`` failed
    connections in a row), keeping what was answered. :func:`~vatjax.collect.store_to_table`
    turns the store into the long table.

    Args:
        items: item bank path or DataFrame (:func:`~vatjax.collect.load_items`).
        conditions: specs such as ``"pre"``, ``"fewshot:Power:suppress:4"``,
            ``"system:Security:reinforce"``, ``"checkpoint:dpo6:Power:-1,model=NAME"``
            (:func:`~vatjax.collect.parse_condition`), or :class:`Condition` objects.
        endpoint: base URL of an OpenAI-compatible server, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model name; also the ``model`` label of every row.
        out: the JSON-lines store (created, or resumed if it exists).
        **options: ``repeats`` (1), ``temperature`` (0.0; None: the server's default),
            ``seed`` (0; repeat r is sent seed + r; None: no seed), ``max_tokens`` (None),
            ``concurrency`` (8), ``timeout`` (60 s per attempt), ``retry``
            (:class:`RetryPolicy`), ``api_key_env`` ("OPENAI_API_KEY"), ``examples``
            (few-shot pool file), ``holdout`` (0.3 of scenarios for the few-shot pool),
            ``judge_template``, ``system`` (a system message for every request),
            ``fields`` (item column names), ``scale`` ((1, 5)), ``fsync`` (True),
            ``progress`` (callback ``(done, total, errors)``), ``max_connect_failures`` (5).

    Returns: a :class:`CollectSummary`.
    """
    return asyncio.run(
        collect_async(items, conditions, endpoint=endpoint, model=model, out=out, **options)
    )
