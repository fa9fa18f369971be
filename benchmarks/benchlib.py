"""What the benchmark scripts share: the machine line, peak RSS, fresh worker processes,
and a checkout of another commit to run the same worker against (the named baseline)."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    """CPU, cores, OS, Python and JAX versions, in one line."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jax

    return (
        f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, JAX {jax.__version__}, CPU only"
    )


def peak_rss() -> int:
    """Peak resident set size of this process, bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def tree_at(ref: str) -> tuple[str, Path]:
    """(short sha, a detached worktree of commit ``ref``), made once in the temp folder."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", ref], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    tree = Path(tempfile.gettempdir()) / f"vatjax-at-{sha}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), sha],
                       check=True, capture_output=True)  # fmt: skip
    return sha, tree


def run_worker(script: str, args: list[str], devices: int, source: Path | None = None) -> dict:
    """Run ``script --worker ...`` in a fresh process on ``devices`` host devices (vatjax
    from ``source`` if given) and return the JSON it prints after ``RESULT ``."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    if source is not None:
        env["PYTHONPATH"] = str(source)
    cmd = [sys.executable, script, *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode or not line:
        raise RuntimeError(f"worker failed:\n{res.stdout}\n{res.stderr}")
    return json.loads(line[-1][7:])
