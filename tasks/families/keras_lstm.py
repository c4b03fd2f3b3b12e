"""Keras LSTM text classifier on the problem's `text` columns (own tokenizer, embedding learned from scratch)."""

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from tasks.errors import ConfigError
from tasks.families import BuildContext, Family
from tasks.keras_estimators import TextRNNClassifier


def build_text_rnn(ctx: BuildContext, hp: dict, cell: str) -> Pipeline:
    """Select the text columns (joined per row by the model) and attach a recurrent classifier."""
    if not ctx.spec.text:
        raise ConfigError("recurrent text families need at least one featurize.<problem>.text column")
    return Pipeline([
        ("text", ColumnTransformer([("text", "passthrough", ctx.spec.text)], remainder="drop")),
        ("model", TextRNNClassifier(cell=cell, random_state=ctx.seed, device=ctx.device, **hp)),
    ])


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return build_text_rnn(ctx, hp, "lstm")


FAMILY = Family(name="keras_lstm", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True)
