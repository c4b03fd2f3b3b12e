"""The one place HTML is made: Jinja2 templates (tasks/present/templates, autoescaped, strict about undefined
names) for self-contained pages with inline CSS, figures as inline SVG and a lineage header. Nothing loads from a
network. Values are escaped unless they are `Markup` the code built itself (a rendered fragment, its own SVG)."""

from __future__ import annotations

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
    """Templates of tasks/present/templates, autoescaped, an undefined name an error."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def render(template: str, **context: Any) -> Markup:
    """A template of tasks/present/templates rendered with `context`."""
    return Markup(environment().get_template(template).render(**context))


def page(template: str, **context: Any) -> str:
    """A whole page (a template extending base.html) as plain text for a file: a `Markup` would escape any text
    a caller adds to it."""
    return str(render(template, **context))


def macros() -> Any:
    """The macros of macros.html, callable from Python; each returns Markup."""
    return environment().get_template("macros.html").module


def svg_markup(text: str) -> Markup:
    """SVG the code drew itself (matplotlib, a model directory's figure), inserted as markup: only from the
    pipeline's own figures, never from data values."""
    return Markup(text)


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


def badge(state: str) -> Markup:
    """A status word (pass, warn, fail; champion, rejected) in its colour."""
    return Markup(macros().status(state, STATUS_CSS.get(state, "")))


def svg(fig: Any) -> Markup:
    """A matplotlib figure the code drew, as inline SVG markup."""
    return svg_markup(figures.svg(fig))
