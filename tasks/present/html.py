"""Self-contained HTML pages: inline CSS, figures as inline SVG, a lineage header. Nothing loads from a network."""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header.lineage{background:#1d2330;color:#d8dde8;font:12px/1.5 ui-monospace,Menlo,monospace;padding:8px 24px}
header.lineage b{color:#fff}
nav.crumbs{padding:8px 24px;background:#e9ecf2;font-size:14px}
main{padding:16px 24px;max-width:1200px}
h1{font-size:24px;margin:8px 0 16px} h2{font-size:19px;margin-top:28px} h3{font-size:16px}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff;font-size:13px}
th,td{border:1px solid #d5d9e2;padding:4px 8px;text-align:left} th{background:#eef1f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17803d;font-weight:600} .warn{color:#a15c00;font-weight:600} .fail{color:#b3261e;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:12px} .card{background:#fff;border:1px solid #d5d9e2;padding:8px}
a{color:#1f5fbf} code{background:#eef1f6;padding:1px 4px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def lineage_header(lineage: Mapping[str, Any]) -> str:
    """One line naming where the page came from: git commit, data hash, params hash, time."""
    parts = " &middot; ".join(f"{esc(k)} <b>{esc(v)}</b>" for k, v in lineage.items())
    return f'<header class="lineage">{parts}</header>'


def page(title: str, body: str, lineage: Mapping[str, Any], crumbs: Iterable[tuple[str, str]] = ()) -> str:
    """A complete offline HTML document. `crumbs` are (label, relative href) links shown above the title."""
    nav = " / ".join(f'<a href="{esc(href)}">{esc(label)}</a>' for label, href in crumbs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{_CSS}</style></head><body>{lineage_header(lineage)}"
        + (f'<nav class="crumbs">{nav}</nav>' if nav else "")
        + f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )


def table(frame: pd.DataFrame, float_format: str = "{:.4f}", index: bool = False) -> str:
    """An HTML table; floats formatted, cells escaped unless they are marked-up strings from `raw()`."""
    def cell(v: Any) -> str:
        if isinstance(v, Raw):
            return str(v)
        if isinstance(v, float):
            return "" if pd.isna(v) else float_format.format(v)
        return esc(v)

    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for idx, row in frame.iterrows():
        cells = ([cell(idx)] if index else []) + [cell(v) for v in row.tolist()]
        values = ([idx] if index else []) + row.tolist()
        rows.append("<tr>" + "".join(f"<td class='num'>{c}</td>" if isinstance(v, int | float) else f"<td>{c}</td>"
                                     for c, v in zip(cells, values, strict=True)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class Raw(str):
    """A string of trusted markup (a link, a badge) that `table` inserts unescaped."""


def link(label: str, href: str) -> Raw:
    return Raw(f'<a href="{esc(href)}">{esc(label)}</a>')


def badge(status: str) -> Raw:
    """'pass'/'warn'/'fail' rendered in colour."""
    css = {"pass": "ok", "warn": "warn", "fail": "fail"}.get(status, "")
    return Raw(f'<span class="{css}">{esc(status)}</span>')


def svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG markup (figure closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight",
                metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def figure(width: float = 4.5, height: float = 3.5) -> tuple[Any, Any]:
    """A new matplotlib figure and axes using the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))
