"""Judgment collection: item bank -> LLM judge (steered or not) -> resumable store -> table.

Example::

    >>> import tempfile, pathlib
    >>> from vatjax.collect import collect, demo_items_path, store_to_table
    >>> from vatjax.testing import FakeChatServer
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "judgments.sqlite"
    >>> with FakeChatServer() as server:
    ...     summary = collect(demo_items_path(), ["pre"], endpoint=server.url,
    ...                       model="demo", out=out)
    >>> len(store_to_table(out))
    120
"""

from vatjax.collect.batch import (
    BatchIngest,
    BatchRequests,
    ingest_batch_results,
    write_batch_requests,
)
from vatjax.collect.client import (
    MAX_CONNECT_FAILURES,
    ChatClient,
    ChatResult,
    EndpointUnreachableError,
    FatalEndpointError,
    RetryPolicy,
)
from vatjax.collect.collector import CollectSummary, collect, collect_async, plan
from vatjax.collect.items import demo_items_path, load_items, split_items
from vatjax.collect.prompts import JUDGE_TEMPLATE, judge_prompt, parse_rating
from vatjax.collect.steering import (
    SYSTEM_TEMPLATES,
    Condition,
    build_messages,
    fewshot_examples,
    parse_condition,
)
from vatjax.collect.store import JudgmentStore
from vatjax.collect.table import read_store, store_to_table

collect_judgments = collect
"""Alias of :func:`collect` (the name ``vatjax`` exports: ``vatjax.collect`` is this package)."""


__all__ = [
    "JUDGE_TEMPLATE",
    "MAX_CONNECT_FAILURES",
    "SYSTEM_TEMPLATES",
    "BatchIngest",
    "BatchRequests",
    "ChatClient",
    "ChatResult",
    "CollectSummary",
    "Condition",
    "EndpointUnreachableError",
    "FatalEndpointError",
    "JudgmentStore",
    "RetryPolicy",
    "build_messages",
    "collect",
    "collect_async",
    "collect_judgments",
    "demo_items_path",
    "fewshot_examples",
    "ingest_batch_results",
    "judge_prompt",
    "load_items",
    "parse_condition",
    "parse_rating",
    "plan",
    "read_store",
    "split_items",
    "store_to_table",
    "write_batch_requests",
]
