"""Keras GAN generating digit images; a "generation" problem: fitted on pixel rows, evaluated by its samples.

The fitted pipeline's last step is a `DigitGAN`: draw images with `pipeline[-1].sample(n)`; judge them with
`tasks.ml.keras_estimators.mode_collapse` (a classifier fitted on the real digits) and `sample_grid` (a figure).
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import pixel_columns
from tasks.ml.keras_estimators import DigitGAN


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("pixels", pixel_columns(ctx)),
        ("model", DigitGAN(random_state=ctx.seed, device=ctx.device, **hp)),
    ])


FAMILY = Family(name="keras_gan", problem_types=frozenset({"generation"}), build=build, gpu=True,
    libraries=("tensorflow", "keras"))
