"""The registry's families (`tasks.families.available()`) grouped by the test module that exercises them; each of
those modules parametrizes over its group, so a new family is tested without being listed anywhere."""

from __future__ import annotations

from tasks.families import available, get_family

GROUPS = {
    "classic": "tests/unit/test_families_classic.py",       # supervised scikit-learn, XGBoost, LightGBM, statsmodels
    "keras": "tests/unit/test_keras_families.py",           # built on Keras: a fitted case per family
    "unsupervised": "tests/unit/test_unsupervised.py",      # clustering and decomposition
    "ensemble": "tests/unit/test_ensemble.py",              # selects among a problem's other models
}


def group(name: str) -> str:
    """The test group of a registered family."""
    family = get_family(name)
    if name == "ensemble":
        return "ensemble"
    if "keras" in family.libraries:
        return "keras"
    return "classic" if family.kind == "supervised" else "unsupervised"


def families(kind: str) -> list[str]:
    """The registered families of one test group, sorted."""
    if kind not in GROUPS:
        raise KeyError(f"no test group {kind!r}; expected one of {list(GROUPS)}")
    return [name for name in available() if group(name) == kind]
