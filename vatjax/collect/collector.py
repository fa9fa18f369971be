"""Collection runs: items x conditions x repeats -> answers in a resumable store.

Example (against the built-in test server; a real run names your endpoint)::

    >>> import tempfile, pathlib
    >>> from vatjax.collect import collect, demo_items_path, store_to_table
    >>> from vatjax.testing import FakeChatServer
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "judgments.sqlite"
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
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from vatjax.collect.client import MAX_CONNECT_FAILURES, ChatClient, RetryPolicy
from vatjax.collect.planning import Job, Plan, plan, rate, resume
from vatjax.collect.steering import Condition
from vatjax.collect.store import KEY_FIELDS, JudgmentStore
from vatjax.errors import VatInputError

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


def _new_summary(jobs: Plan, done: np.ndarray, path: Path) -> CollectSummary:
    summary = CollectSummary(total=len(jobs), skipped=int(done.sum()), out=path)
    stored = done.reshape(len(jobs.conditions), -1).sum(axis=1).tolist()
    for cond, n in zip(jobs.conditions, stored, strict=True):
        per = summary.by_condition.setdefault(
            cond.name, {"total": 0, "stored": 0, "answered": 0, "unparsed": 0, "errors": 0}
        )
        per["total"] += len(jobs) // len(jobs.conditions)
        per["stored"] += n
    return summary


def _clients(conditions: list[Condition], endpoint: str, **client_options) -> dict[str, ChatClient]:
    """One client per endpoint the pending conditions use (a checkpoint may name its own)."""
    clients: dict[str, ChatClient] = {}
    for cond in conditions:
        url = cond.endpoint or endpoint
        if url not in clients:
            clients[url] = ChatClient(url, **client_options)
    return clients


async def _judge(job: Job, client: ChatClient) -> dict:
    """Ask one request; its store record (status ok, unparsed or error)."""
    cond = job.condition
    started = datetime.now(UTC)
    res = await client.complete(job.messages, **job.request)
    rating, status = rate(res, job.scale)
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


async def _run_jobs(todo, n_todo, clients, endpoint, store, summary, progress, concurrency):
    """Work through the ``n_todo`` pending jobs (an iterator, shared by ``concurrency``
    workers: each job goes to one), storing each answer."""

    async def worker() -> None:
        for job in todo:
            record = await _judge(job, clients[job.condition.endpoint or endpoint])
            await store.append_async(record)
            _tally(summary, job.condition.name, record["status"])
            if progress:
                progress(summary.skipped + summary.answered, summary.total, summary.errors)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, n_todo))]
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
        done, _ = resume(store, jobs)
        todo = np.flatnonzero(~done)
        summary = _new_summary(jobs, done, store.path)
        if progress:
            progress(summary.skipped, summary.total, 0)
        clients = _clients(
            [jobs.conditions[c] for c in np.unique(jobs.condition_index(todo)).tolist()],
            endpoint,
            api_key_env=api_key_env,
            timeout=timeout,
            retry=retry,
            concurrency=concurrency,
            transport=transport,
            max_connect_failures=max_connect_failures,
        )
        try:
            pending = map(jobs.__getitem__, todo)  # built one by one, as workers ask
            await _run_jobs(
                pending, len(todo), clients, endpoint, store, summary, progress, concurrency
            )
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
        out: the SQLite store (``*.sqlite``; created, or resumed if it exists; an old
            ``*.jsonl`` store is migrated into ``*.sqlite`` beside it).
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
