"""The featurize stage's features report: per model (or the problem-level options), what the preprocessing builds
on the training split, read from the summaries `tasks.ml.preprocess.feature_summary` writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.feature_options import FeatureOptions
from tasks.ml.figures import figure
from tasks.present import html

ROLES = ("numeric", "ordinal", "categorical", "text")


def _in_role_order(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A step's counts in the feature roles' order, as the preprocessor builds its branches (JSON files sort their
    keys); a branch named after a role (`text_<column>`) goes with it, other keys after."""
    def rank(key: str) -> int:
        return next((i for i, role in enumerate(ROLES) if key.startswith(role)), len(ROLES))

    return {key: detail[key] for key in sorted(detail, key=rank)}


def _guards(guards: Mapping[str, Any]) -> dict[str, Any]:
    """The guard rails' findings: excluded columns and kept columns with a warning, each with its reason."""
    rows = [{"column": column, "action": action, "reason": reason}
            for action, key in (("excluded", "excluded"), ("kept", "warnings"))
            for column, reason in guards.get(key, {}).items()]
    return {"table": html.table(pd.DataFrame(rows)) if rows else None, "notes": list(guards.get("notes", []))}


def _variance_figure(ratios: list[float]) -> Any:
    fig, ax = figure()
    ax.plot(np.arange(1, len(ratios) + 1), np.cumsum(np.asarray(ratios)), marker="o")
    ax.set(xlabel="components", ylabel="cumulative explained variance", ylim=(0, 1.02))
    return html.svg(fig)


def _section(name: str, s: Mapping[str, Any]) -> dict[str, Any]:
    steps = pd.DataFrame([{"step": st["step"], "features": st["features"],
                           "detail": "; ".join(f"{k}: {v}" for k, v in _in_role_order(st["detail"]).items())}
                          for st in s["steps"]])
    defaults = FeatureOptions().model_dump(mode="json")
    changed = {key: value for key, value in s["options"].items() if value != defaults[key]}
    balance = None
    if s["class_balance"]:
        cb = s["class_balance"]
        frame = pd.DataFrame({"class": [str(c) for c in cb["before"]], "rows before": list(cb["before"].values()),
                              "rows after": [cb["after"].get(c, 0) for c in cb["before"]]})
        if cb["class_weight"]:
            frame["weight"] = [float(cb["class_weight"].get(c, 1.0)) for c in cb["before"]]
        balance = html.table(frame)
    vifs = pd.DataFrame([{"feature": r["feature"], "vif": "inf" if r["vif"] is None else r["vif"]}
                         for r in s["vif"] or []])
    return {"name": name, "changed": changed or "none", "steps": html.table(steps), "balance": balance,
            "balance_how": (s["class_balance"] or {}).get("how", ""),
            "variance": _variance_figure(s["explained_variance"]) if s["explained_variance"] else None,
            "guards": _guards(s["guards"]) if s.get("guards") else None, "notes": s.get("notes") or [],
            "vif": html.table(vifs) if s["vif"] else None}


def render_features_report(
    summaries: Mapping[str, dict[str, Any]], *, title: str, lineage: Mapping[str, Any],
    crumbs: Iterable[tuple[str, str]] = (),
) -> str:
    """A self-contained page: per model, its options, feature counts per step, class balance, the VIF table and
    the cumulative explained variance of PCA/SVD components."""
    return html.page("features_report.html", title=title, lineage=dict(lineage), crumbs=list(crumbs),
                       sections=[_section(name, s) for name, s in summaries.items()])
