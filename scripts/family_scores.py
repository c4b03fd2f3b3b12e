"""Score every classic family on every default problem it suits: held-out metric, fit and predict time.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python scripts/family_scores.py \
        [--problems penguins housing ...] [--families knn ...]

(one thread per library: on a shared machine threaded BLAS/OpenMP slows down by orders of magnitude).

Prints one markdown row per model as it finishes. `SUGGESTED` holds the hyperparameters used, the suggested
`params.yaml` defaults per problem; a family with no entry for a problem runs with `DEFAULT`, and extra variants
(other distances, penalties, gradient-descent modes) are listed in `VARIANTS`.
"""

from __future__ import annotations

import argparse
import time
import warnings

from tasks.families import BuildContext, build_estimator, get_family
from tasks.ml.metrics import score
from tests.model.problems import load_split, problems

ENSEMBLE = {"n_estimators": 300}
BOOSTING = {"n_estimators": 400, "learning_rate": 0.05, "subsample": 0.8, "n_jobs": 1}
DEFAULT: dict[str, dict] = {
    "naive_bayes_gaussian": {},
    "naive_bayes_multinomial": {"alpha": 1.0, "n_bins": 5},
    "naive_bayes_bernoulli": {"alpha": 1.0},
    "knn": {"n_neighbors": 15, "weights": "distance", "metric": "euclidean"},
    "decision_tree": {"max_depth": 8, "min_samples_leaf": 5},
    "bagging": {"n_estimators": 100},
    "random_forest": {**ENSEMBLE, "max_features": "sqrt"},
    "adaboost": {"n_estimators": 200, "learning_rate": 0.5, "max_depth": 2},
    "gradient_boosting": {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 3, "subsample": 0.8},
    "xgboost": {**BOOSTING, "max_depth": 6, "colsample_bytree": 0.8},
    "lightgbm": {**BOOSTING, "subsample_freq": 1, "num_leaves": 31, "colsample_bytree": 0.8},
    "linear_regression": {},
    "ridge": {"alpha": 10.0},
    "lasso": {"alpha": 0.001, "max_iter": 10_000},
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
    "logistic_sgd": {"batch_size": 64, "learning_rate": 0.05, "max_epochs": 100, "alpha": 1e-4},
    "svm_linear": {"C": 1.0, "max_train_rows": 5000},
    "svm_rbf": {"C": 3.0, "gamma": "scale", "max_train_rows": 5000},
}
SUGGESTED: dict[str, dict[str, dict]] = {
    "housing": {
        "random_forest": {**ENSEMBLE, "max_features": 0.33},
        "xgboost": {**BOOSTING, "n_estimators": 1000, "max_depth": 4, "colsample_bytree": 0.5},
        "lightgbm": {**BOOSTING, "n_estimators": 1000, "subsample_freq": 1, "num_leaves": 15, "colsample_bytree": 0.5},
        "gradient_boosting": {"n_estimators": 600, "learning_rate": 0.05, "max_depth": 3, "subsample": 0.8},
        "svm_linear": {"C": 0.01, "epsilon": 0.05, "max_train_rows": 5000},
        "svm_rbf": {"C": 1.0, "epsilon": 0.05, "gamma": "scale", "max_train_rows": 5000},
    },
    "digits": {
        "gradient_boosting": {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "subsample": 0.8},
        "naive_bayes_gaussian": {"var_smoothing": 0.1},
        "knn": {"n_neighbors": 5, "weights": "distance", "metric": "euclidean"},
    },
    "reviews": {
        "bagging": {"n_estimators": 50, "max_features": 0.1},
        "naive_bayes_multinomial": {"alpha": 0.3},
        "naive_bayes_bernoulli": {"alpha": 0.3},
        "logistic_regression": {"C": 4.0, "max_iter": 1000},
        "logistic_sgd": {"batch_size": 64, "learning_rate": 1.0, "max_epochs": 100, "alpha": 1e-5},
    },
}
VARIANTS: dict[str, list[dict]] = {
    "knn": [{"metric": "manhattan"}, {"metric": "jaccard"}, {"metric": "hamming"}],
    "logistic_regression": [{"penalty": "l1", "C": 0.5}],
    "logistic_sgd": [{"batch_size": None, "max_epochs": 500}, {"batch_size": 1, "max_epochs": 10}],
}


def configurations(family: str, problem: str, text: bool) -> list[dict]:
    """The suggested hyperparameters, then each variant (set distances only on tabular problems)."""
    base = SUGGESTED.get(problem, {}).get(family, DEFAULT[family])
    variants = [v for v in VARIANTS.get(family, []) if not (text and v.get("metric") in ("jaccard", "hamming"))]
    return [base, *({**base, **variant} for variant in variants)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="*", default=list(problems()))
    parser.add_argument("--families", nargs="*", default=list(DEFAULT))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print("| problem | family | hyperparameters | metric | value | roc_auc | fit s | predict s |")
    print("|---|---|---|---|---|---|---|---|")
    for problem in args.problems:
        train, test, spec = load_split(problem)
        metric = "rmse" if spec.problem_type == "regression" else "accuracy"
        for name in args.families:
            family = get_family(name)
            if spec.problem_type not in family.problem_types:
                continue
            for hp in configurations(name, problem, bool(spec.text)):
                model = build_estimator(family, BuildContext(spec=spec, seed=0), hp)
                started = time.perf_counter()
                model.fit(train.drop(columns=spec.target), train[spec.target])
                fitted = time.perf_counter()
                values = score(model, test.drop(columns=spec.target), test[spec.target], spec)
                shown = ", ".join(f"{k}={v}" for k, v in hp.items())
                print(f"| {problem} | {name} | {shown} | {metric} | {values[metric]:.4f} | "
                      f"{values.get('roc_auc', float('nan')):.4f} | {fitted - started:.1f} | "
                      f"{time.perf_counter() - fitted:.1f} |", flush=True)


if __name__ == "__main__":
    main()
