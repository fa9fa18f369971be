"""The report's rendering: compact cells ("0.120 [0.050, 0.210]"), tables that fit an
800 px page, and the HTML page (figures and CSV inline) with its Markdown twin.

Example:
    >>> t = pd.DataFrame({"x": [0.12], "x_lower": [0.05], "x_upper": [float("nan")]})
    >>> interval_column(t, "x", "x").tolist()
    ['0.120 [0.050, NaN]']
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from vatjax.data import atomic_path

__all__ = ["CSS", "interval_column", "render", "table_html", "table_md"]


def _num(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "NaN" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def interval_column(table: pd.DataFrame, mid: str, name: str) -> pd.Series:
    """``mid`` with the interval ``name_lower``/``name_upper`` as one text cell; ``mid``
    alone where the table has no interval."""
    if f"{name}_lower" not in table.columns:
        return table[mid].map(_num)
    return pd.Series(
        [f"{_num(m)} [{_num(lo)}, {_num(hi)}]" for m, lo, hi in
         zip(table[mid], table[f"{name}_lower"], table[f"{name}_upper"], strict=True)],
        index=table.index,
    )  # fmt: skip


def _cell(v, breaks: str = ":/") -> str:
    """A cell's HTML: numbers as they are; a name breakable only after the ``breaks``
    characters (headers also after '_'), never at a hyphen; prose at its spaces."""
    text = _num(v)
    if isinstance(v, (float, int, np.number, bool, np.bool_)):
        return html.escape(text)
    if " " in text:  # prose (a note, a setting): wraps at its spaces
        return html.escape(text)
    parts = re.split(f"(?<=[{re.escape(breaks)}])", text)
    return "<wbr>".join(f"<span class='nw'>{html.escape(p)}</span>" for p in parts if p)


def table_html(df: pd.DataFrame) -> str:
    """A compact HTML table: headers break after '_', text cells left-aligned.

    Example:
        >>> table_html(pd.DataFrame({"model": ["m-1"], "n_samples": [3]}))[:76]
        "<table class='t'><thead><tr><th class='l'><span class='nw'>model</span></th>"
    """
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                 and "[" not in str(c)]  # fmt: skip
    head = "".join(
        f"<th{' class=' + repr('l') if c in text_cols else ''}>{_cell(str(c), ':/_')}</th>"
        for c in df.columns
    )
    rows = "".join(
        "<tr>" + "".join(
            f"<td{' class=' + repr('l') if c in text_cols else ''}>{_cell(v)}</td>"
            for c, v in zip(df.columns, row, strict=True)
        ) + "</tr>"
        for row in df.itertuples(index=False)
    )  # fmt: skip
    return f"<table class='t'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def table_md(df: pd.DataFrame) -> str:
    """The same table in Markdown.

    Example:
        >>> print(table_md(pd.DataFrame({"a": [0.5], "b": ["x|y"]})), end="")
        | a | b |
        |---|---|
        | 0.500 | x\\|y |
    """
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join(
        "| " + " | ".join(_num(v).replace("|", "\\|") for v in row) + " |\n" for row in df.values
    )


CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:.5em 1em;
line-height:1.4;font-size:15px;color:#222}h1{font-size:1.5em;margin:.2em 0 .3em}
h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ccc}
#summary h2{margin-top:.4em}ul.items li{margin:.2em 0}
table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}
table.t td,table.t th{padding:2px 5px;border-bottom:1px solid #ddd;text-align:right;
vertical-align:top}table.t th{background:#f3f3f3}table.t .l{text-align:left}
table.t td.l{overflow-wrap:anywhere}
.nw{white-space:nowrap}dl.defs{font-size:14px}dl.defs dt{font-weight:600;float:left;
margin-right:.4em}dl.defs dd{margin:0 0 .3em 0}img{max-width:100%;height:auto}
figure{margin:1em 0}figcaption{font-size:13px;color:#555}a.dl{font-weight:600}
@media (max-width:900px){body{font-size:14px}table.t{font-size:11px}
table.t td,table.t th{padding:2px 3px}}"""


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _section(k: int, sec, asset_dir: Path) -> tuple[list[str], list[str]]:
    h = [f"<section id='{_anchor(sec.title)}'><h2>{html.escape(sec.title)}</h2>"]
    m = [f"\n## {sec.title}\n"]
    h += [f"<p>{html.escape(t)}</p>" for t in sec.text]
    m += [f"{t}\n" for t in sec.text]
    if sec.items:
        h.append("<ul class='items'>" + "".join(f"<li>{html.escape(i)}</li>"
                                                 for i in sec.items) + "</ul>")  # fmt: skip
        m += [f"- {i}" for i in sec.items] + [""]
    if sec.definitions:
        h.append("<dl class='defs'>" + "".join(
            f"<dt>{html.escape(t)}:</dt><dd>{html.escape(d)}</dd>" for t, d in sec.definitions
        ) + "</dl>")  # fmt: skip
        m += [f"- **{t}**: {d}" for t, d in sec.definitions] + [""]
    for df in sec.tables:
        h.append(table_html(df))
        m.append("\n" + table_md(df))
    for label, name, data in sec.downloads:
        b64 = base64.b64encode(data).decode()
        h.append(f"<p><a class='dl' download='{html.escape(name)}' "
                 f"href='data:text/csv;base64,{b64}'>{html.escape(label)}</a></p>")  # fmt: skip
        with atomic_path(asset_dir / name) as tmp:
            tmp.write_bytes(data)
        m.append(f"\n[{label}]({asset_dir.name}/{name})\n")
    h += [f"<p>{html.escape(t)}</p>" for t in sec.notes]
    m += [f"{t}\n" for t in sec.notes]
    for j, (caption, data) in enumerate(sec.figures):
        b64 = base64.b64encode(data).decode()
        h.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
                 f"<figcaption>{html.escape(caption)}</figcaption></figure>")  # fmt: skip
        name = f"fig{k}-{j}.png"
        with atomic_path(asset_dir / name) as tmp:
            tmp.write_bytes(data)
        m.append(f"\n![{caption}]({asset_dir.name}/{name})\n")
    h.append("</section>")
    return h, m


def render(sections: list, title: str, asset_dir: Path) -> tuple[str, str]:
    """HTML (figures and downloads inline as base64) and Markdown (as files in asset_dir).

    Example:
        >>> import tempfile
        >>> from vatjax.cli.figures import Section
        >>> page, md = render([Section("Notes", text=["a & b"])], "T", Path(tempfile.mkdtemp()))
        >>> "<p>a &amp; b</p>" in page, md.splitlines()[3:]
        (True, ['## Notes', '', 'a & b'])
    """
    parts_html = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    parts_md = [f"# {title}\n"]
    for k, sec in enumerate(sections):
        h, m = _section(k, sec, asset_dir)
        parts_html += h
        parts_md += m
    parts_html.append("</body></html>")
    return "\n".join(parts_html), "\n".join(parts_md)
