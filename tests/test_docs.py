"""The documentation: README.md and docs/*.md link only to files inside the repository,
every `vatjax.<name>` they cite exists, and the spec's micro-value table is vatjax's."""

import importlib
import re
from pathlib import Path

import pytest

import vatjax

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH_IN_CODE = re.compile(r"`(\.{0,2}/?[\w.-]+/[\w./-]*\.(?:py|pyi|md|toml|ipynb))`")
NAME_IN_CODE = re.compile(r"`(vatjax(?:\.\w+)+)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text()
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def _target_problem(doc: Path, base: Path, target: str, root: Path) -> str | None:
    """Why ``target``, cited in ``doc`` relative to the folder ``base``, is not a file inside
    ``root`` (None: it is)."""
    where, _, anchor = target.partition("#")
    path = (base / where).resolve() if where else doc
    if not path.is_relative_to(root.resolve()):
        return f"{doc.name}: {target} points outside the repository"
    if not path.is_file():
        return f"{doc.name}: {target} is not a file in the repository"
    if anchor and anchor not in _anchors(path):
        return f"{doc.name}: {target} has no heading #{anchor}"
    return None


def link_problems(doc: Path, root: Path = ROOT) -> list[str]:
    """Every relative Markdown link of ``doc`` that does not resolve, and every file path in
    backticks that is not in ``root`` (paths in backticks are relative to the root)."""
    text = doc.read_text()
    links = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    problems = [_target_problem(doc, doc.parent, t, root) for t in links]
    problems += [_target_problem(doc, root, p, root) for p in PATH_IN_CODE.findall(text)]
    return [p for p in problems if p]


def _resolve(dotted: str):
    """The object ``vatjax.a.b.c`` names: attributes, importing submodules on the way."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:i]))
    return obj


def name_problems(doc: Path) -> list[str]:
    """Every `vatjax.xxx` cited in ``doc`` that does not exist."""
    problems = []
    for name in sorted(set(NAME_IN_CODE.findall(doc.read_text()))):
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            problems.append(f"{doc.name}: `{name}` does not exist")
    return problems


def test_the_docs_exist_and_the_readme_links_the_spec():
    names = {d.name for d in DOCS}
    assert {"spec.md", "inference.md"} <= names
    readme = DOCS[0].read_text()
    measures = readme[readme.index("## What it measures") : readme.index("### Two taxes")]
    assert "](docs/spec.md)" in measures
    assert "## Documentation" in readme


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_link_and_path_resolves_inside_the_repository(doc):
    assert link_problems(doc) == []
    assert "shared/" not in doc.read_text() and "VAT_SPEC.md" not in doc.read_text()


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_cited_vatjax_name_exists(doc):
    assert name_problems(doc) == []


def test_the_spec_cites_a_function_for_each_formula():
    spec = (ROOT / "docs" / "spec.md").read_text()
    cited = set(NAME_IN_CODE.findall(spec))
    for name in ("vatjax.data.phi", "vatjax.shifts", "vatjax.core.metrics.gain_gnd",
                 "vatjax.core.ranks.spearman", "vatjax.core.metrics.vat_from_coupling",
                 "vatjax.core.metrics.gini", "vatjax.vat"):  # fmt: skip
        assert name in cited


def test_the_checks_catch_a_broken_link_a_path_outside_and_a_missing_name(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# A heading\n")
    doc = tmp_path / "README.md"
    doc.write_text(
        "[ok](docs/there.md#a-heading) [gone](docs/missing.md) [out](../shared/VAT_SPEC.md)\n"
        "[bad anchor](docs/there.md#nowhere) [web](https://arxiv.org/abs/2602.12134)\n"
        "`docs/there.md` `docs/absent.py` `vatjax.vat` `vatjax.no_such_name` "
        "`vatjax.core.no_such_module.f`\n"
    )
    problems = link_problems(doc, tmp_path)
    assert len(problems) == 4
    assert any("missing.md is not a file" in p for p in problems)
    assert any("outside the repository" in p for p in problems)
    assert any("#nowhere" in p for p in problems)
    assert any("absent.py" in p for p in problems)
    assert name_problems(doc) == [
        "README.md: `vatjax.core.no_such_module.f` does not exist",
        "README.md: `vatjax.no_such_name` does not exist",
    ]


def test_the_micro_value_table_is_vatjax_s_taxonomy():
    spec = (ROOT / "docs" / "spec.md").read_text()
    section = spec[spec.index("## 6.") :]
    rows = re.findall(r"^\| ([\w-]+) \| (.+) \|$", section, re.M)
    table = {v: [m.strip() for m in micro.split(",")] for v, micro in rows if v != "Value"}
    expected = {
        v: [m for m, w in vatjax.SCHWARTZ.micro_values.items() if w == v]
        for v in vatjax.SCHWARTZ.values
    }
    assert table == expected
    assert list(table) == list(vatjax.SCHWARTZ.values)  # circumplex order
