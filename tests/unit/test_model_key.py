"""A model's key and the reason a stage gives for recomputing it."""

from __future__ import annotations

from importlib import metadata

from tasks.core.model_key import library_versions, make_key, stale_reason
from tasks.families import get_family


def parts(**change):
    base = {"config": {"family": "xgboost", "hyperparameters": {"max_depth": 4}}, "data": {"rows": "abc"},
            "code": {"tasks/families/xgboost.py": "1" * 64, "tasks/ml/preprocess.py": "2" * 64},
            "libraries": {"scikit-learn": "1.9.1", "xgboost": "3.2.0"}, "seed": 42}
    return {**base, **change}


def test_an_unchanged_key_is_reused_and_a_missing_output_is_not():
    assert stale_reason(make_key(parts()), make_key(parts())) is None
    assert stale_reason(None, make_key(parts())) == "no previous output"


def test_the_reason_names_what_changed():
    old = make_key(parts())
    code = stale_reason(old, make_key(parts(code={"tasks/families/xgboost.py": "9" * 64,
                                                                   "tasks/ml/preprocess.py": "2" * 64})))
    assert code == "code changed: tasks/families/xgboost.py"
    upgraded = stale_reason(old, make_key(parts(libraries={"scikit-learn": "1.9.1", "xgboost": "3.4.1"})))
    assert upgraded == "libraries changed: xgboost 3.2.0 -> 3.4.1"
    assert stale_reason(old, make_key(parts(seed=7))) == "seed changed"


def test_library_versions_are_those_installed_and_only_a_familys_own():
    xgb, forest = (library_versions(get_family(name).libraries) for name in ("xgboost", "random_forest"))
    assert xgb["xgboost"] == metadata.version("xgboost") and xgb["scikit-learn"] == metadata.version("scikit-learn")
    assert "xgboost" not in forest, "an xgboost upgrade does not reach a random forest's key"
    keras = library_versions(get_family("keras_cnn").libraries)
    assert keras["keras"] == metadata.version("keras") and keras["tensorflow"] != "absent"
    assert library_versions(["no-such-distribution"])["no-such-distribution"] == "absent"
