"""The modules a stage runs, found from import statements (what train and evaluate stages depend on)."""

from pathlib import Path

from flows.check import stage_code
from tasks.core.code_fingerprint import family_modules, fingerprint, import_closure, imported_modules, model_code

REPO = Path(__file__).resolve().parents[2]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_closure_follows_every_kind_of_import_and_stops_at_excluded_files(tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/sub/leaf.py": "import json\n",
        "pkg/a.py": "from pkg.sub import leaf\nfrom . import b\n",
        "pkg/b.py": "def f():\n    from .c import g\n    from .d import h\n    return g, h\n",
        "pkg/c.py": "import pkg.x\n",
        "pkg/x.py": "",
        "pkg/d.py": "",
        "pkg/e.py": "from pkg import unrelated_name\n",
        "pkg/skip.py": "import pkg.hidden\n",
        "pkg/hidden.py": "",
    })
    closure = import_closure([tmp_path / "pkg/a.py", tmp_path / "pkg/skip.py"], tmp_path,
                             exclude=[tmp_path / "pkg/skip.py", tmp_path / "pkg/c.py"])
    names = [p.relative_to(tmp_path.resolve()).as_posix() for p in closure]
    assert names == ["pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/d.py", "pkg/hidden.py", "pkg/sub/__init__.py",
                     "pkg/sub/leaf.py"]  # c.py is excluded, so x.py is not reached; the root skip.py is followed
    assert imported_modules(tmp_path / "pkg/e.py", tmp_path) == {tmp_path / "pkg/__init__.py"}


def test_fingerprint_changes_with_a_file_and_only_that_file(tmp_path):
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    files = [tmp_path / "a.py", tmp_path / "b.py"]
    before = fingerprint(files, tmp_path)
    (tmp_path / "a.py").write_text("x = 3\n")
    after = fingerprint(files, tmp_path)
    assert set(before) == {"a.py", "b.py"} and before["b.py"] == after["b.py"] and before["a.py"] != after["a.py"]


def test_stage_code_covers_what_models_are_built_and_evaluated_with():
    code = stage_code(REPO)
    train, evaluate = set(code["train"]), set(code["evaluate"])
    assert {"flows/train.py", "tasks/stages/train.py", "tasks/core/config.py", "tasks/ml/preprocess.py",
            "tasks/ml/vif.py", "tasks/ml/keras_estimators.py", "tasks/ml/unsupervised.py", "tasks/families/__init__.py",
            "tasks/families/_common.py", "tasks/families/_xgboost_progress.py"} <= train
    assert {"tasks/families/xgboost.py", "tasks/families/keras_cnn.py"} <= train, "the stage re-runs on any family"
    assert "tasks/present/report.py" not in train and "tasks/stages/evaluate.py" not in train
    assert {"flows/evaluate.py", "tasks/stages/evaluate.py", "tasks/ml/model_insights.py",
            "tasks/ml/stats.py"} <= evaluate


def test_the_stages_that_render_pages_depend_on_their_templates():
    code = stage_code(REPO)
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "tasks/present/templates").iterdir()}
    assert {"tasks/present/templates/index.html", "tasks/present/templates/base.html"} <= templates
    assert templates <= set(code["report"]) and templates <= set(code["validate"])
    assert not templates & set(code["train"]), "no stage that renders nothing re-runs on a template edit"


def test_a_models_code_is_its_stage_and_its_own_family_only():
    """What a model's key hashes: editing another family must not reach it, a shared module must."""
    code = model_code(REPO / "flows" / "train.py", "xgboost", REPO)
    assert "tasks/families/xgboost.py" in code and "tasks/families/_xgboost_progress.py" in code
    assert "tasks/families/lightgbm.py" not in code and "tasks/ml/preprocess.py" in code
    assert "tasks/families/lightgbm.py" in model_code(REPO / "flows" / "train.py", "lightgbm", REPO)


def test_no_family_module_imports_another_family():
    """Each train stage depends on its own family's module only, so a family must not run another's code."""
    families = set(family_modules(REPO))
    assert len(families) > 20
    for module in families:
        assert not (imported_modules(module, REPO) & families) - {module}, module
