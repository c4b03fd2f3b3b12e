"""Keras LSTM text classifier on the problem's `text` columns (own tokenizer, embedding learned from scratch)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import text_rnn_pipeline


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return text_rnn_pipeline(ctx, hp, "lstm")


FAMILY = Family(name="keras_lstm", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True,
    libraries=("tensorflow", "keras"))
