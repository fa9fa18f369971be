"""An Inspect AI task for VAT judgments: ``inspect eval vatjax/vat_task``.

One sample per item x condition. Its input is the chat the direct client would send
(:func:`~vatjax.collect.plan`: the run's system message, the condition's steering system
message, the few-shot examples as earlier turns, then the judge prompt), the solver
:func:`judge` generates, and :func:`vat_rating` parses the answer with vatjax's
:func:`~vatjax.collect.parse_rating`. Inspect's epochs are the repeated judgments (epoch
e is repeat e - 1, asked with seed + e - 1 as the client asks repeat r with seed + r). :func:`~vatjax.collect.inspect_log.load_inspect_log` turns the logs
into the judgments table. Needs Inspect AI (``pip install 'vatjax[inspect]'``)::

    inspect eval vatjax/vat_task --model openai/gpt-4o-mini --epochs 3 \\
        -T items=items.jsonl -T conditions='[pre, "fewshot:Power:suppress:4"]'

Example:
    >>> from vatjax.collect import demo_items_path
    >>> t = vat_task(str(demo_items_path()), ["pre", "fewshot:Power:suppress:2"])
    >>> len(t.dataset)  # 8 of 12 scenarios x 10 items x 2 conditions (4 held out)
    160
    >>> sorted(t.dataset[0].metadata)[:4]
    ['condition', 'direction', 'micro_value', 'polarity']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

try:
    from inspect_ai import Task, task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import (
        ChatMessage,
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageUser,
        GenerateConfig,
    )
    from inspect_ai.scorer import Score, Target, mean, scorer
    from inspect_ai.solver import Generate, TaskState, solver
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "vatjax's Inspect task needs Inspect AI: pip install 'vatjax[inspect]'"
    ) from exc

from vatjax.collect.inspect_log import TASK_NAME
from vatjax.collect.items import demo_items_path
from vatjax.collect.planning import plan
from vatjax.collect.prompts import JUDGE_TEMPLATE, parse_rating

__all__ = ["TASK_NAME", "judge", "vat_rating", "vat_task"]

_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}


def _chat(messages: Sequence[Mapping[str, str]]) -> list[ChatMessage]:
    """The direct client's messages as Inspect chat messages."""
    return [_ROLES[m["role"]](content=m["content"]) for m in messages]


def _conditions(conditions: str | Sequence[str]) -> list[str]:
    """Condition specs: a list, or one string with specs separated by ';'."""
    if isinstance(conditions, str):
        return [c.strip() for c in conditions.split(";") if c.strip()]
    return [str(c) for c in conditions]


@solver
def judge(seed: int | None = 0):
    """Ask the model once; epoch e sends ``seed + e - 1``, as the direct client sends
    seed + repeat (so repeats are not copies of one seeded answer). None: no seed.

    Example:
        >>> callable(judge(0))
        True
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if seed is None:
            return await generate(state)
        return await generate(state, seed=seed + state.epoch - 1)

    return solve


@scorer(metrics=[mean()])
def vat_rating(low: int = 1, high: int = 5):
    """Score an answer with vatjax's parser: the rating, or NaN (unscored) when the
    answer holds no rating on the scale (stored as a missing rating).

    Example:
        >>> callable(vat_rating())
        True
    """

    async def score(state: TaskState, target: Target) -> Score:
        text = state.output.completion
        rating = parse_rating(text, (low, high))
        return Score(
            value=float("nan") if rating is None else rating,
            answer=text,
            metadata={"status": "unparsed" if rating is None else "ok"},
        )

    return score


def _registered_name() -> str:
    """The name to register: Inspect prefixes ``vatjax/`` itself when it sees vatjax as an
    installed package, but not when the project's own ``vatjax.egg-info`` shadows the
    install (an editable install run from the repository root); then the name is given in
    full, so ``inspect eval vatjax/vat_task`` finds the task either way."""
    from inspect_ai._util.package import get_installed_package_name  # no public equivalent

    return TASK_NAME if get_installed_package_name(_registered_name) else f"vatjax/{TASK_NAME}"


@task(name=_registered_name())
def vat_task(
    items: str | pd.DataFrame | None = None,
    conditions: str | Sequence[str] = "pre",
    examples: str | None = None,
    holdout: float = 0.3,
    judge_template: str = JUDGE_TEMPLATE,
    system: str | None = None,
    fields: Mapping[str, str] | None = None,
    scale: Sequence[int] = (1, 5),
    seed: int | None = 0,
    temperature: float | None = 0.0,
    max_tokens: int | None = None,
) -> Task:
    """The VAT judging task: one sample per item x condition (see the module docstring).

    Args:
        items: item bank path or DataFrame (:func:`~vatjax.collect.load_items`); default
            the demo bank.
        conditions: condition specs (:func:`~vatjax.collect.parse_condition`), a list or
            one string separated by ';'. A checkpoint condition is judged by the eval's
            ``--model``.
        examples, holdout, judge_template, system, fields, scale: as for
            :func:`~vatjax.collect.collect`.
        seed: epoch e sends seed + e - 1 (:func:`judge`); None sends none.
        temperature, max_tokens: the generate config (Inspect's ``--temperature`` and
            ``--max-tokens`` override them).

    Example:
        >>> t = vat_task(conditions="pre; system:Security:reinforce")
        >>> t.dataset[-1].input[0].role, len(t.dataset)
        ('system', 240)
    """
    lo, hi = int(scale[0]), int(scale[1])
    jobs, _ = plan(
        demo_items_path() if items is None else items,
        _conditions(conditions),
        model=TASK_NAME,
        examples=examples,
        holdout=holdout,
        judge_template=judge_template,
        system=system,
        fields=fields,
        scale=(lo, hi),
        seed=seed,
        temperature=temperature,
        max_tokens=max_tokens,
    )
    samples = []
    for job in jobs:
        c, item = job.condition, job.item
        meta = {key: item[key] for key in ("scenario", "micro_value", "value", "polarity")}
        meta.update(condition=c.name, strategy=c.strategy, target=c.target)
        meta.update(direction=c.direction, scale_low=lo, scale_high=hi)
        sid = f"{c.name}|{item['scenario']}|{item['micro_value']}|{item['polarity']}"
        samples.append(Sample(input=_chat(job.messages), id=sid, metadata=meta))
    return Task(
        dataset=MemoryDataset(samples, name="vatjax-items"),
        solver=judge(seed),
        scorer=vat_rating(lo, hi),
        config=GenerateConfig(temperature=temperature, max_tokens=max_tokens),
    )
