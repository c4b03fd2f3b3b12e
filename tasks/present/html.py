"""The one place HTML is made: Jinja2 templates (tasks/present/templates, autoescaped, strict about undefined
names) for self-contained pages with inline CSS, figures as inline SVG and a lineage header. Nothing loads from a
network. Values are escaped unless they are `Markup` the code built itself (a rendered fragment, its own SVG)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from tasks.ml import figures

TEMPLATES = Path(__file__).parent / "templates"
STATUS_CSS = {"pass": "ok", "champion": "ok", "fail": "fail", "rejected": "fail", "warn": "warn"}


@cache
def environment() -> Environment:
    """Templates autoescaped (also when rendered from a string), undefined names an error."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=False)
    env.filters["num"] = lambda value, spec="{:.4f}": spec.format(value)
    return env


def render(template: str, **context: Any) -> Markup:
    """A template of tasks/present/templates rendered with `context`."""
    return Markup(environment().get_template(template).render(**context))


def macros() -> Any:
    """The macros of macros.html, callable from Python; each returns Markup."""
    return environment().get_template("macros.html").module


def svg_markup(text: str) -> Markup:
    """SVG the code drew itself (matplotlib, a model directory's figure), inserted as markup: only from the
    pipeline's own figures, never from data values."""
    return Markup(text)


def page(title: str, body: str | Sequence[str], lineage: Mapping[str, Any],
         crumbs: Iterable[tuple[str, str]] = ()) -> str:
    """A complete offline HTML document from rendered fragments (`body`, Markup; plain text is escaped).
    `crumbs` are (label, relative href) links shown above the title."""
    parts = [body] if isinstance(body, str) else list(body)
    return render("base.html", title=title, body=Markup("").join(parts), lineage=dict(lineage), crumbs=list(crumbs))


def table(frame: pd.DataFrame, float_format: str = "{:.4f}", index: bool = False) -> Markup:
    """An HTML table; floats formatted, numbers right-aligned, cells escaped unless they are Markup."""
    def cell(v: Any) -> tuple[Any, bool]:
        numeric = isinstance(v, int | float)
        if isinstance(v, float):
            return ("" if pd.isna(v) else float_format.format(v)), numeric
        return (v if isinstance(v, Markup) else str(v)), numeric

    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    rows = [[cell(v) for v in (([idx] if index else []) + row.tolist())] for idx, row in frame.iterrows()]
    return Markup(macros().table(columns, rows))


def link(label: str, href: str) -> Markup:
    return Markup(macros().link(label, href))


def links(pairs: Sequence[tuple[str, str]]) -> Markup:
    """Links separated by middle dots."""
    return Markup(macros().links(list(pairs)))


def status(text: str) -> Markup:
    """A status word (pass, champion, fail, rejected, warn, ...) in its colour."""
    return Markup(macros().status(text, STATUS_CSS.get(text, "")))


def badge(state: str) -> Markup:
    """'pass'/'warn'/'fail' rendered in colour."""
    return Markup(macros().status(state, {"pass": "ok", "warn": "warn", "fail": "fail"}.get(state, "")))


def cards(figures: Sequence[str]) -> Markup:
    """Figures (SVG Markup; plain text is escaped) side by side, each in a card; empty ones left out."""
    return Markup(macros().cards(list(figures)))


def svg(fig: Any) -> Markup:
    """A matplotlib figure the code drew, as inline SVG markup."""
    return svg_markup(figures.svg(fig))
