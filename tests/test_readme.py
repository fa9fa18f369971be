"""The README: its first lines are the two set-up commands, and its Python example runs."""

import re
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_first_lines_are_the_two_commands_and_ci_runs_the_test_one():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[0].endswith("vatjax demo") and "pytest" in block[1]
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert block[1] in ci
    assert README.index("```bash") < 30


def test_python_example_runs(tmp_path, monkeypatch):
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert len(example.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the project's own README
    assert namespace["result"]["nvat"].dims == ("model", "intervention")
    assert (tmp_path / "vat.nc").exists()
