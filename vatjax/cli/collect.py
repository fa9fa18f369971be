"""``vatjax collect``: judge an item bank with an LLM endpoint into a resumable store.

Example::

    vatjax collect items.jsonl --endpoint http://127.0.0.1:8000/v1 --model qwen3-4b \\
        --condition pre --condition fewshot:Power:suppress:4 --out judgments.sqlite \\
        --table judgments.csv

Rerunning the same command resumes: answered requests are skipped. The API key is read
from the environment variable named by ``--api-key-env`` (default ``OPENAI_API_KEY``);
it is redacted from every server text the command prints or stores.

Through the OpenAI Batch API (half the price, for paper-scale runs)::

    vatjax collect items.jsonl --model gpt-4o-mini -c pre --out judgments.sqlite \\
        --batch-out requests.jsonl        # requests.jsonl, requests-002.jsonl, ...
    # submit each file to the Batch API; download each output file, then:
    vatjax collect --batch-results results.jsonl --batch-results results-002.jsonl \\
        --out judgments.sqlite

Exit codes (see :func:`collect_command`): 2 for bad input and for an endpoint that refuses
every request -- unreachable (:data:`~vatjax.collect.client.MAX_CONNECT_FAILURES` failed
connection attempts in a row), a rejected key (401, 403), an unknown URL or model (404) --
as no request could succeed until the command changes; 1 when only some requests failed
after their retries (a rerun retries them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vatjax.collect.batch import ingest_batch_results, write_batch_requests
from vatjax.collect.client import (
    MAX_CONNECT_FAILURES,
    FatalEndpointError,
    RetryPolicy,
    safe_url,
)
from vatjax.collect.collector import CollectSummary, collect
from vatjax.collect.prompts import JUDGE_TEMPLATE
from vatjax.collect.table import store_to_table
from vatjax.errors import VatInputError

__all__ = ["collect_command"]

_CONDITION_HELP = (
    "A condition to judge under; repeat the option for several. One of: "
    "pre (the baseline); "
    "fewshot:TARGET:DIRECTION:K (K solved examples before each item); "
    "system:TARGET:DIRECTION (a system prompt); "
    "checkpoint:TAG:TARGET:DIRECTION followed by ,model=NAME or ,endpoint=URL or both "
    "(another served model, judged under the condition TAG). "
    "TARGET is a value (not a micro-value), e.g. Power; DIRECTION is reinforce (or +1) or suppress (or -1). "
    "Add ,name=NAME or ,strategy=NAME to rename the condition. "
    "Example: -c pre -c fewshot:Power:suppress:4 -c system:Power:suppress."
)
_ENDPOINT_HELP = (
    "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1. The run stops "
    f"after {MAX_CONNECT_FAILURES} failed connection attempts in a row."
)
_RETRIES_HELP = "Retries on 429, 5xx and timeouts (exponential backoff, jitter)."
_EXAMPLES_HELP = "Item file for few-shot examples (default: hold out scenarios)."
_TABLE_HELP = "Also write the long judgments table (.csv, .parquet, .jsonl)."
_FSYNC_HELP = "fsync each answer (survives a power cut, not only a crash)."
_OUT_HELP = "The judgment store (*.sqlite); an existing one is resumed."
_KEY_HELP = "Environment variable holding the API key (may be unset)."
_HOLDOUT_HELP = "Share of scenarios held out for few-shot examples."
_FIELD_HELP = "Name an item column: THEIR_COLUMN=ITEM_FIELD (repeatable)."
_FROM_INSPECT_HELP = (
    "Read the Inspect AI logs (a log file or folder) of `inspect eval vatjax/vat_task` "
    "instead of asking an endpoint, and write the judgments table (--table, default "
    "judgments.parquet)."
)
_BATCH_OUT_HELP = (
    "Write OpenAI Batch API request files instead of asking an endpoint: FILE, then "
    "FILE-002, ... (50,000 requests or 200 MB each), for the judgments not yet in --out."
)
_BATCH_RESULTS_HELP = "Store a Batch API output file in --out (repeat for several); all or nothing."


class _RateColumn(ProgressColumn):
    """Answers per second over the whole run (rich's own speed is a short window)."""

    def __init__(self, start_done: list[int]):
        super().__init__()
        self.start = time.perf_counter()
        self.start_done = start_done

    def render(self, task) -> Text:
        elapsed = time.perf_counter() - self.start
        n = task.completed - self.start_done[0]
        rate = n / elapsed if elapsed > 0 and n > 0 else 0.0
        return Text(f"{rate:6.1f}/s", style="progress.data.speed")


def _fields(specs: list[str]) -> dict[str, str] | None:
    out = {}
    for spec in specs:
        src, eq, dst = spec.partition("=")
        if not eq or not src.strip() or not dst.strip():
            raise VatInputError(
                f"--field {spec!r} must be THEIR_COLUMN=ITEM_FIELD, e.g. --field scene=scenario_text"
            )
        out[src.strip()] = dst.strip()
    return out or None


def _summary_table(summary: CollectSummary) -> Table:
    table = Table(title="collected judgments", title_justify="left")
    for col in ("condition", "planned", "already stored", "answered", "no rating", "failed"):
        table.add_column(col, justify="left" if col == "condition" else "right")
    keys = ("total", "stored", "answered", "unparsed", "errors")
    for name, c in summary.by_condition.items():
        table.add_row(name, *(str(c[k]) for k in keys))
    return table


def _progress_bar(err: Console, show: bool) -> tuple[Progress, Callable[[int, int, int], None]]:
    """The bar on stderr and the collector's callback that moves it."""
    start_done = [0]
    bar = Progress(
        TextColumn("[bold]collecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(start_done),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("[red]{task.fields[errors]} errors"),
        console=err,
        disable=not show,
        transient=False,
    )
    task = bar.add_task("collect", total=None, errors=0)
    first = [True]

    def on_progress(done: int, total: int, errors: int) -> None:
        if first[0]:
            start_done[0] = done
            bar.reset(task, total=total, completed=done, errors=errors)
            first[0] = False
        bar.update(task, completed=done, errors=errors)

    return bar, on_progress


def _collect_with_bar(items: Path, conditions: list[str], progress: bool | None, **options):
    """Run the collection under a progress bar; Ctrl-C says what is kept and exits 130.

    A run stopped by its endpoint (unreachable, bad key) erases the bar, so that the
    error is the first line on stderr.
    """
    err = Console(stderr=True)
    bar, on_progress = _progress_bar(err, err.is_terminal if progress is None else progress)
    try:
        with bar:
            try:
                return collect(items, conditions, progress=on_progress, **options)
            except FatalEndpointError:
                bar.live.transient = True
                raise
    except KeyboardInterrupt:
        err.print(
            f"[bold yellow]interrupted[/]: every answer received so far is in {options['out']}; "
            "run the same command again to collect the rest",
            highlight=False,
        )
        raise typer.Exit(130) from None


def _print_summary(summary: CollectSummary, endpoint: str, out: Path, table: Path | None):
    console = Console()
    console.print(_summary_table(summary))
    console.print(str(summary), highlight=False, soft_wrap=True)
    console.print(f"endpoint: {safe_url(endpoint)}", highlight=False)
    if summary.out is not None and summary.out != out:
        console.print(f"{out} was migrated into {summary.out} (and left unchanged)",
                      highlight=False, soft_wrap=True)  # fmt: skip
    if table is not None:
        from vatjax.data import write_table

        write_table(store_to_table(summary.out or out), table)
        console.print(f"judgments table written to {table}", highlight=False, soft_wrap=True)


def collect_command(
    items: Annotated[
        Path | None,
        typer.Argument(help="Item bank: .json, .jsonl, .csv or .parquet.", show_default=False),
    ] = None,
    endpoint: Annotated[str | None, typer.Option(help=_ENDPOINT_HELP)] = None,
    model: Annotated[
        str | None, typer.Option(help="Served model name; the 'model' of every row.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option("--condition", "-c", help=_CONDITION_HELP + " Default: pre."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Ratings per item and condition.")] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed sent with repeat 0 (repeat r: seed + r).")] = 0,
    max_tokens: Annotated[
        int | None, typer.Option(help="Most tokens per answer (default: the server's).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Most requests in flight.")] = 8,
    timeout: Annotated[float, typer.Option(help="Seconds per attempt.")] = 60.0,
    max_retries: Annotated[int, typer.Option(help=_RETRIES_HELP)] = 5,
    backoff: Annotated[float, typer.Option(help="Base backoff delay in seconds.")] = 0.5,
    api_key_env: Annotated[str, typer.Option(help=_KEY_HELP)] = "OPENAI_API_KEY",
    examples: Annotated[Path | None, typer.Option(help=_EXAMPLES_HELP)] = None,
    holdout: Annotated[float, typer.Option(help=_HOLDOUT_HELP)] = 0.3,
    field: Annotated[list[str] | None, typer.Option(help=_FIELD_HELP)] = None,
    judge_template: Annotated[
        Path | None,
        typer.Option(help="File with the judge prompt template (str.format fields)."),
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="A system message sent with every request.")
    ] = None,
    table: Annotated[Path | None, typer.Option(help=_TABLE_HELP)] = None,
    fsync: Annotated[bool, typer.Option(help=_FSYNC_HELP)] = True,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: on a terminal).")
    ] = None,
    batch_out: Annotated[Path | None, typer.Option(help=_BATCH_OUT_HELP)] = None,
    batch_results: Annotated[
        list[Path] | None,
        typer.Option(help=_BATCH_RESULTS_HELP, show_default=False, metavar="FILE"),
    ] = None,
    from_inspect: Annotated[
        Path | None, typer.Option("--from-inspect", help=_FROM_INSPECT_HELP, metavar="LOG")
    ] = None,
) -> None:
    """Judge every item under every condition with an LLM endpoint; resumable.

    Exit 0: all answered; 1: some requests failed (rerun to retry them); 2: bad input or
    an endpoint that refuses every request (unreachable, bad key, unknown model), said on
    the first line; 130: interrupted. With --batch-out: write Batch API request files
    instead of asking an endpoint; with --batch-results: store a batch's output files;
    with --from-inspect: turn Inspect AI logs of vatjax/vat_task into the judgments table.
    """
    if from_inspect is not None:
        return _from_inspect(from_inspect, table, model)
    _check_arguments(out, items, model, endpoint, batch_out, api_key_env, bool(batch_results))
    if batch_results:
        return _ingest(items, batch_results, out, table, api_key_env, fsync)
    template = judge_template.read_text(encoding="utf-8") if judge_template else JUDGE_TEMPLATE
    options = dict(model=model, repeats=repeats, temperature=temperature, seed=seed,
                   max_tokens=max_tokens, examples=examples, holdout=holdout,
                   judge_template=template, system=system, fields=_fields(field or []),
                   out=out, fsync=fsync)  # fmt: skip
    if batch_out is not None:
        sent = write_batch_requests(items, condition or ["pre"], requests=batch_out, **options)
        return _print_batch(sent)
    retry = RetryPolicy(max_retries=max_retries, backoff=backoff)
    summary = _collect_with_bar(items, condition or ["pre"], progress, endpoint=endpoint,
                                concurrency=concurrency, timeout=timeout, retry=retry,
                                api_key_env=api_key_env, **options)  # fmt: skip
    _print_summary(summary, endpoint, out, table)
    if summary.errors:
        raise typer.Exit(1)


def _from_inspect(logs: Path, table: Path | None, model: str | None) -> None:
    """The judgments table of Inspect AI logs (``inspect eval vatjax/vat_task``)."""
    from vatjax.collect.inspect_log import load_inspect_log
    from vatjax.data import write_table

    judged = load_inspect_log(logs, model=model or None)
    dest = write_table(judged, table or Path("judgments.parquet"))
    missing = int(judged["rating"].isna().sum())
    Console().print(f"{len(judged):,} judgments ({missing:,} without a rating) from {logs} "
                    f"written to {dest}", highlight=False, soft_wrap=True)  # fmt: skip


def _print_batch(sent) -> None:
    console = Console()
    names = ", ".join(str(p) for p in sent.files) or "no file (nothing left to ask)"
    console.print(
        f"{sent.requests} requests written to {names}; {sent.skipped} already in {sent.out}\n"
        "submit each file to the Batch API, then store its output file with "
        f"vatjax collect --batch-results FILE --out {sent.out}",
        highlight=False,
        soft_wrap=True,
    )


def _ingest(items, files: list[Path], out: Path, table, api_key_env: str, fsync: bool) -> None:
    if items is not None:
        raise VatInputError(
            f"--batch-results stores output files and takes no item bank; drop {items} "
            "(or pass it as --batch-results if it is an output file)"
        )
    got = ingest_batch_results(files, out=out, api_key_env=api_key_env, fsync=fsync)
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"stored {got.lines} batch results in {got.out}: {got.answered} answered "
        f"({got.unparsed} without a rating, stored as missing), {got.errors} failed"
    )
    if table is not None:
        from vatjax.data import write_table

        write_table(store_to_table(got.out), table)
        console.print(f"judgments table written to {table}")
    if got.errors:
        console.print(
            f"{got.errors} failed: the same --batch-out command writes their requests again "
            "(a failed judgment is asked again; answered ones are not)"
        )
        raise typer.Exit(1)


def _check_arguments(out, items, model, endpoint, batch_out, api_key_env, ingest) -> None:
    """The arguments each use of the command needs (live, --batch-out, --batch-results)."""
    if out is None:
        raise VatInputError("give the judgment store: --out judgments.sqlite")
    if ingest:
        return
    if items is None:
        raise VatInputError("give the item bank file (ITEMS), e.g. vatjax collect items.jsonl")
    if model is None:
        raise VatInputError("give the model name: --model NAME")
    if batch_out is None and endpoint is None:
        raise VatInputError(
            "give the server: --endpoint http://127.0.0.1:8000/v1 (or --batch-out FILE to "
            "write Batch API request files)"
        )
    if api_key_env != "OPENAI_API_KEY" and not os.environ.get(api_key_env):
        raise VatInputError(
            f"--api-key-env names {api_key_env!r}, which is not set; export it first"
        )
