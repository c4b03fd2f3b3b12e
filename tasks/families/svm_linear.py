"""Support vector machine, linear kernel (soft margin `C`): `_common.svm_pipeline`."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import svm_pipeline


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return svm_pipeline(ctx, hp, "linear")


FAMILY = Family(name="svm_linear", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build)
