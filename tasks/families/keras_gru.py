"""Keras GRU text classifier on the problem's `text` columns (same pipeline as keras_lstm, GRU cells)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families.keras_lstm import build_text_rnn


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return build_text_rnn(ctx, hp, "gru")


FAMILY = Family(name="keras_gru", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True)
