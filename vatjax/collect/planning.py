"""What a run asks: its jobs (items x conditions x repeats), what a store already holds.

:func:`plan` builds every request of a run (the messages, the request options and the
key of each); :func:`resume` finds which keys a store has answered; :func:`rate` turns
an answer into a rating and a status. The live collector
(:mod:`vatjax.collect.collector`) and the Batch API path (:mod:`vatjax.collect.batch`)
share them, so both ask and read the same thing.

Example:
    >>> from vatjax.collect import demo_items_path
    >>> jobs, items = plan(demo_items_path(), ["pre"], model="m", repeats=2)
    >>> len(jobs), jobs[0].key[1], jobs[1].request["seed"]
    (240, 'pre', 1)
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vatjax.collect.client import ChatResult
from vatjax.collect.items import load_items, split_items
from vatjax.collect.prompts import JUDGE_TEMPLATE, check_template, parse_rating
from vatjax.collect.steering import (
    Condition,
    fewshot_examples,
    item_message,
    parse_condition,
    steering_messages,
)
from vatjax.collect.store import KEY_FIELDS, JudgmentStore, pack_key
from vatjax.errors import VatInputError
from vatjax.taxonomy import SCHWARTZ, Taxonomy

__all__ = ["Job", "Plan", "Prompting", "plan", "rate", "resume"]


@dataclass(frozen=True, slots=True)
class Prompting:
    """What every item of one condition is judged with: the messages before the item
    (steering, few-shot turns), the judge template and the rating scale."""

    prefix: list
    template: str
    scale: tuple[int, int]


@dataclass(slots=True)
class Job:
    """One request of a run: its key, condition, item, prompt hash and request options;
    its messages are built when asked for (a paper-scale plan holds millions of jobs)."""

    key: tuple
    condition: Condition
    item: dict
    prompting: Prompting
    sha: str
    request: dict  # model (the served one), temperature, seed (seed + repeat), max_tokens

    @property
    def messages(self) -> list[dict[str, str]]:
        """The chat messages (:func:`~vatjax.collect.steering.build_messages`)."""
        p = self.prompting
        return [*p.prefix, item_message(self.item, p.template, p.scale)]

    @property
    def scale(self) -> tuple[int, int]:
        return self.prompting.scale


@dataclass(frozen=True, eq=False)
class Plan(Sequence):
    """Every request of a run (:func:`plan`), in the order condition, item, repeat.

    A sequence of :class:`Job`: a job is built when it is asked for, so a plan of
    millions of judgments holds a few numbers per judgment; :meth:`store_keys` and
    :meth:`prompt_ints` give every job's store key and prompt hash as arrays.
    """

    model: str
    conditions: list[Condition]
    items: list[dict]
    promptings: list[Prompting]  # per condition
    requests: list[list[dict]]  # per condition, per repeat
    prompts: np.ndarray  # (condition, item): the prompt hash the store keeps
    repeats: int

    def __len__(self) -> int:
        return len(self.conditions) * len(self.items) * self.repeats

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[k] for k in range(*n.indices(len(self)))]
        n = operator.index(n) + (len(self) if n < 0 else 0)
        if not 0 <= n < len(self):
            raise IndexError(f"job {n} of a plan of {len(self)}")
        c, rest = divmod(n, len(self.items) * self.repeats)
        i, r = divmod(rest, self.repeats)
        cond, item = self.conditions[c], self.items[i]
        key = (self.model, cond.name, item["scenario"], item["micro_value"], item["polarity"], r)
        sha = f"{int(self.prompts[c, i]):015x}"
        return Job(key, cond, item, self.promptings[c], sha, self.requests[c][r])

    def condition_index(self, n: np.ndarray) -> np.ndarray:
        """The condition (its position in ``conditions``) of jobs ``n``."""
        return np.asarray(n) // (len(self.items) * self.repeats)

    def prompt_ints(self) -> np.ndarray:
        """Every job's prompt hash (int64), in plan order."""
        return np.repeat(self.prompts.ravel(), self.repeats)

    def store_keys(self, store: JudgmentStore) -> np.ndarray:
        """Every job's store key (int64), its conditions and items added to the store."""
        with store.transaction():
            conds = [store.condition_id(self.model, c.name, c.strategy, c.target, c.direction)
                     for c in self.conditions]  # fmt: skip
            items = [store.item_id(t["scenario"], t["micro_value"], t["polarity"], t.get("value"))
                     for t in self.items]  # fmt: skip
        pack_key(max(conds, default=0), max(items, default=0), self.repeats - 1)  # or raise
        keys = np.asarray(conds, np.int64)[:, None, None] << 44
        keys = keys | np.asarray(items, np.int64)[None, :, None] << 20
        return (keys | np.arange(self.repeats, dtype=np.int64)).ravel()


def _dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def _prompt_hasher(prefix: list, model, temperature, max_tokens):
    """``sha(item_message_json)``: the prompt hash the store keeps (the first 15 hex digits
    of the SHA-256 of the canonical JSON of {messages: prefix + [item_message], model,
    temperature, max}, as an int), the condition's part hashed once (byte for byte
    ``json.dumps(..., sort_keys=True)`` of the whole)."""
    head = f'{{"max": {_dumps(max_tokens)}, "messages": ['
    head += "".join(_dumps(m) + ", " for m in prefix)
    tail = f'], "model": {_dumps(model)}, "temperature": {_dumps(temperature)}}}'.encode()
    base = hashlib.sha256(head.encode())

    def sha(message_json: bytes) -> int:
        h = base.copy()
        h.update(message_json)
        h.update(tail)
        return int(h.hexdigest()[:15], 16)

    return sha


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
) -> tuple[Plan, pd.DataFrame]:
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
    records = evaluate.to_dict("records")
    promptings, requests, hashers = [], [], []
    prompts = np.empty((len(conds), len(records)), np.int64)
    for cond in conds:
        shots = (
            fewshot_examples(pool, cond, seed=0 if seed is None else seed, scale=scale)
            if cond.kind == "fewshot"
            else []
        )
        served = cond.model or model
        prefix = steering_messages(cond, shots=shots, template=judge_template, system=system,
                                   scale=scale)  # fmt: skip
        promptings.append(Prompting(prefix, judge_template, scale))
        hashers.append(_prompt_hasher(prefix, served, temperature, max_tokens))
        requests.append([
            {"model": served, "temperature": temperature,
             "seed": None if seed is None else seed + r, "max_tokens": max_tokens}
            for r in range(repeats)
        ])  # fmt: skip
    for i, item in enumerate(records):  # the item's message is the same under every condition
        message = _dumps(item_message(item, judge_template, scale)).encode()
        prompts[:, i] = [sha(message) for sha in hashers]
    jobs = Plan(model, conds, records, promptings, requests, prompts, repeats)
    return jobs, evaluate


def resume(store: JudgmentStore, jobs: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Which jobs the store has answered (bool array) and their store keys (int64 array).

    Answers asked with another prompt, model, temperature or max_tokens are refused.

    The store's progress table (:mod:`vatjax.collect.progress`) answers it: a store of
    millions of answers resumes in seconds, whatever it holds.
    """
    keys = jobs.store_keys(store)
    done, changed = store.answered(keys, jobs.prompt_ints())
    if len(changed):
        shown = ", ".join(str(dict(zip(KEY_FIELDS, jobs[i].key, strict=True))) for i in changed[:3])
        raise VatInputError(
            f"{len(changed)} judgment(s) in {store.path} were collected with a different "
            f"prompt, model, temperature or max_tokens (e.g. {shown}); resuming would mix "
            "two protocols. Write to a new --out file, or give the condition a new name"
        )
    return done, keys


def rate(result: ChatResult, scale: tuple[int, int]) -> tuple[float | None, str]:
    """(rating, status) of a request's result: ``ok``, ``unparsed`` (no rating) or ``error``.

    Example:
        >>> rate(ChatResult(text="Rating: 4"), (1, 5)), rate(ChatResult(None, error="x"), (1, 5))
        ((4.0, 'ok'), (None, 'error'))
    """
    rating = parse_rating(result.text, scale) if result.ok else None
    return rating, "error" if not result.ok else ("ok" if rating is not None else "unparsed")
