"""Validation outcomes as self-contained HTML: our own page (replacing GX Data Docs, whose scripts and styles load
from CDNs) and, for reference, GX's own Data Docs page with every external asset stripped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from tasks.adapters.expectations import ExpectationResult, ValidationOutcome, data_docs_css, data_docs_html
from tasks.present import html
from tasks.present.html import badge, table

_EXTERNAL = r"""["']?(?:https?:)?//"""
_GX_EXTRA_CSS = """
body{font-family:system-ui,sans-serif;margin:16px;color:#1d2330}
table{border-collapse:collapse;margin:8px 0} th,td{border:1px solid #d5d9e2;padding:4px 8px;vertical-align:top}
.text-danger{color:#b3261e} .text-success{color:#17803d}
"""


def _status(result: ExpectationResult) -> Markup:
    if result.success:
        return badge("pass")
    return badge("fail" if result.severity == "error" else "warn")


def _value(value: Any, limit: int = 160) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _outcome_status(outcome: ValidationOutcome) -> Markup:
    return badge("fail" if not outcome.success else "warn" if outcome.warnings else "pass")


def results_table(results: Iterable[ExpectationResult]) -> Markup:
    """One row per expectation: status, severity, expectation, column, counts, observed, expected, examples."""
    rows = [{
        "status": _status(r),
        "severity": r.severity,
        "expectation": r.type,
        "column": r.column or "(table)",
        "unexpected rows": "" if r.unexpected_count is None else f"{r.unexpected_count:,}",
        "unexpected %": r.unexpected_percent,
        "observed": _value(r.detail or r.observed),
        "expected": _value(", ".join(f"{k}={v}" for k, v in r.expected.items() if v is not None)),
        "examples": _value(", ".join(map(repr, r.examples))),
    } for r in results]
    return table(pd.DataFrame(rows), float_format="{:.2f}") if rows else html.render("para.html", text="None.")


def overview_table(outcomes: Sequence[ValidationOutcome]) -> Markup:
    rows = [{
        "dataset": o.dataset_name,
        "status": _outcome_status(o),
        "errors": len(o.errors),
        "warnings": len(o.warnings),
        "expectations": len(o.results),
        "rows": f"{o.row_count:,}",
        "seconds": o.seconds,
    } for o in outcomes]
    return table(pd.DataFrame(rows), float_format="{:.2f}")


def render_validation_report(
    outcomes: Sequence[ValidationOutcome], *, title: str, lineage: Mapping[str, Any],
    crumbs: Iterable[tuple[str, str]] = (),
) -> str:
    """A self-contained page: an overview, then per dataset the failed expectations (errors first) and the
    passed ones in a collapsed list."""
    datasets = [{"name": o.dataset_name, "status": _outcome_status(o), "suite": o.suite_name, "rows": o.row_count,
                 "expectations": len(o.results), "seconds": o.seconds,
                 "failed_count": len(o.errors) + len(o.warnings), "failed": results_table([*o.errors, *o.warnings]),
                 "passed_count": sum(r.success for r in o.results),
                 "passed": results_table([r for r in o.results if r.success])} for o in outcomes]
    return html.page("validation.html", title=title, lineage=dict(lineage), crumbs=list(crumbs),
                       overview=overview_table(outcomes), datasets=datasets)


def offline_data_docs(outcome: ValidationOutcome) -> str:
    """GX's own Data Docs page for `outcome`, made to work offline: scripts removed (they all need jQuery or
    Bootstrap from a CDN; the content is rendered server-side), every <link> (CDN stylesheets, and a favicon
    under GX's own static/ path that does not exist here), external images and CSS urls dropped, GX's bundled
    stylesheet inlined. Charts that need Vega are lost; tables and texts remain."""
    if not outcome.gx_result:
        raise ValueError(f"{outcome.dataset_name}: the outcome carries no GX result to render")
    text = data_docs_html(outcome.gx_result)
    text = re.sub(r"<script\b.*?</script\s*>", "", text, flags=re.S | re.I)
    text = re.sub(r"<link\b[^>]*>", "", text, flags=re.I)
    text = re.sub(rf"<img\b[^>]*src\s*=\s*{_EXTERNAL}[^>]*>", "", text, flags=re.I)
    css = data_docs_css() + _GX_EXTRA_CSS
    text = re.sub(r"</head\s*>", lambda _: f"<style>{css}</style></head>", text, count=1, flags=re.I)
    return re.sub(rf"url\(\s*{_EXTERNAL}[^)]*\)", "none", text, flags=re.I)
