"""Keras GRU text classifier on the problem's `text` columns (same pipeline as keras_lstm, GRU cells)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import text_rnn_pipeline


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return text_rnn_pipeline(ctx, hp, "gru")


FAMILY = Family(name="keras_gru", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True,
    libraries=("tensorflow", "keras"))
