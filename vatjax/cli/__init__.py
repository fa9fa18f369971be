"""The ``vatjax`` command line: every command, the demo pipeline and the report.

One module per command group (:mod:`~vatjax.cli.vat`: simulate and vat;
:mod:`~vatjax.cli.analyze` (the analysis itself in :mod:`~vatjax.cli.analysis`);
:mod:`~vatjax.cli.compare`;
:mod:`~vatjax.cli.demo`: demo and report; :mod:`~vatjax.cli.fit`;
:mod:`~vatjax.cli.collect`), what they share in :mod:`~vatjax.cli.common`, the pipeline in
:mod:`~vatjax.cli.pipeline`, the report in :mod:`~vatjax.cli.report` and
:mod:`~vatjax.cli.figures`, the names of the result files in :mod:`~vatjax.cli.results`.
Heavy libraries (the resampling, NumPyro, matplotlib) load only when a command runs.

Every command prints a clear message and exits with code 2 on bad input, never a traceback.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["--help"])
    >>> result.exit_code, "Value Alignment Tax" in result.output
    (0, True)
"""

from __future__ import annotations

import os
import warnings

import typer
from rich.markup import escape

from vatjax.cli.analyze import analyze_command
from vatjax.cli.circumplex import circumplex_command
from vatjax.cli.collect import collect_command
from vatjax.cli.common import err_console, friendly_errors
from vatjax.cli.compare import compare_command
from vatjax.cli.demo import demo_command, report_command
from vatjax.cli.fit import fit_command
from vatjax.cli.power import power_command
from vatjax.cli.reliability import reliability_command
from vatjax.cli.vat import simulate_command, vat_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="vatjax",
    help="Measure the Value Alignment Tax of LLM alignment interventions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help is plain text: R[u,u] and :LABEL: are not markup
)

for _name, _command in (
    ("simulate", simulate_command),
    ("vat", vat_command),
    ("analyze", analyze_command),
    ("compare", compare_command),
    ("demo", demo_command),
    ("report", report_command),
    ("collect", collect_command),
    ("fit", fit_command),
    ("reliability", reliability_command),
    ("power", power_command),
    ("circumplex", circumplex_command),
):
    app.command(_name)(friendly_errors(_command))


def _plain_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as a message, ``warning: ...`` on stderr, without its source line."""
    err_console.print(f"warning: {escape(str(message))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the ``vatjax`` script (and of ``python -m vatjax.cli``).

    The resampling shards over devices and the chains of a fit run one per device, so
    JAX is asked for one CPU device per core before its backend starts (a device count
    already in ``XLA_FLAGS`` wins; results do not depend on the number of devices).
    Warnings print as messages, without the source path and line.
    """
    warnings.showwarning = _plain_warning
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = f"--xla_force_host_platform_device_count={os.cpu_count() or 1}"
        os.environ["XLA_FLAGS"] = f"{flags} {count}".strip()
    app(prog_name="vatjax")
