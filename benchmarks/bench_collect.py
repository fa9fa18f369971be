"""Requests per second of ``vatjax collect`` against the local test server.

The deterministic OpenAI-compatible test server (vatjax.testing.fakeserver) runs in its
own process on 127.0.0.1, so the numbers measure the collector (HTTP client, parsing,
store writes) and the loopback, not a model. Each point judges the demo item bank under
the baseline, repeated to about ``--requests`` requests, into a fresh store; the median
of ``--trials`` runs is reported, with the collector's and the server's CPU time per
request (from getrusage and /proc).

Run:
    .venv/bin/python benchmarks/bench_collect.py
    .venv/bin/python benchmarks/bench_collect.py --concurrency 1 8 64 --requests 960 --trials 3
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vatjax.collect import collect, demo_items_path, load_items


def _server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _start_server(delay: float) -> tuple[subprocess.Popen, str]:
    code = f"from vatjax.testing.fakeserver import main; main(['--delay', '{delay}'])"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def _point(url, pid, tmp, *, conc, fsync, repeats, trials, tag):
    rates, client_ms, server_ms = [], [], []
    for trial in range(trials):
        out = Path(tmp) / f"j-{tag}-{fsync}-{conc}-{trial}.sqlite"
        c0, s0 = _own_cpu(), _server_cpu(pid)
        summary = collect(
            demo_items_path(),
            ["pre"],
            endpoint=url,
            model="bench",
            out=out,
            repeats=repeats,
            concurrency=conc,
            fsync=fsync,
        )
        n = summary.answered
        assert n == summary.total and summary.errors == 0
        rates.append(n / summary.elapsed_s)
        client_ms.append((_own_cpu() - c0) / n * 1e3)
        server_ms.append((_server_cpu(pid) - s0) / n * 1e3)
    return (
        conc,
        "yes" if fsync else "no",
        n,
        statistics.median(rates),
        min(rates),
        max(rates),
        statistics.median(client_ms),
        statistics.median(server_ms),
    )


def _table(title: str, rows) -> None:
    print(f"{title}\n")
    print(
        "| concurrency | fsync each answer | requests | req/s (median) | req/s (min-max) "
        "| collector CPU ms/req | server CPU ms/req |"
    )
    print("|---:|:---:|---:|---:|---:|---:|---:|")
    for conc, fs, n, med, lo, hi, cms, sms in rows:
        print(f"| {conc} | {fs} | {n} | {med:.0f} | {lo:.0f}-{hi:.0f} | {cms:.2f} | {sms:.2f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--requests", type=int, default=960, help="requests per run (about)")
    ap.add_argument("--trials", type=int, default=3, help="runs per point; the median is shown")
    ap.add_argument(
        "--latency", type=float, default=0.05, help="server delay of the second table (s)"
    )
    ap.add_argument("--latency-requests", type=int, default=240)
    args = ap.parse_args()

    n_items = len(load_items(demo_items_path()))
    fast, slow = [], []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start_server(0.0)
        try:
            for fsync in (True, False):
                for conc in args.concurrency:
                    fast.append(
                        _point(url, proc.pid, tmp, conc=conc, fsync=fsync, trials=args.trials,
                               repeats=max(1, round(args.requests / n_items)), tag="fast")
                    )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        proc, url = _start_server(args.latency)
        try:
            for conc in args.concurrency:
                slow.append(
                    _point(url, proc.pid, tmp, conc=conc, fsync=True, trials=1,
                           repeats=max(1, round(args.latency_requests / n_items)), tag="slow")
                )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.1f} at the end; "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}\n"
    )
    _table(f"Server answering at once (median of {args.trials} runs):", fast)
    _table(f"Server taking {args.latency * 1e3:.0f} ms per answer (1 run):", slow)


if __name__ == "__main__":
    main()
