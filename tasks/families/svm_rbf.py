"""Support vector machine, RBF kernel, on one-hot standardised features (soft margin `C`, kernel width `gamma`).

Kernel SVMs scale worse than linearly in rows, so at most `max_train_rows` training rows (stratified) are used.
Classifier probabilities: Platt scaling fitted on cross-validated decision values, then one SVM on all the rows
(`CalibratedClassifierCV(ensemble=False)`, which replaces the deprecated `SVC(probability=True)`).
"""

from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, SVR

from tasks.estimators import Subsample
from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    max_train_rows = hp.pop("max_train_rows", 5_000)
    if ctx.spec.problem_type == "regression":
        model = SVR(kernel="rbf", **hp)
    else:
        model = CalibratedClassifierCV(SVC(kernel="rbf", random_state=ctx.seed, **hp), ensemble=False)
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", Subsample(model, max_rows=max_train_rows, random_state=ctx.seed)),
    ])


FAMILY = Family(name="svm_rbf", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build)
