"""Text features: a picklable tokenizer (stop words, stemming) and the small pieces a text column's pipeline needs.

Only offline parts of NLTK are used (its stemmers); stop words are scikit-learn's English list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, HashingVectorizer, TfidfVectorizer

Stemmer = Literal["porter", "snowball"]
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


@dataclass(frozen=True)
class Tokenizer:
    """Lower-case word tokens, optionally without English stop words, optionally stemmed.

    A module-level class (not a lambda), so a fitted vectorizer that uses it pickles and clones.
    """

    stop_words: bool = False
    stemmer: Stemmer | None = None
    _stem: Any = field(default=None, init=False, repr=False, compare=False)

    def __call__(self, text: str) -> list[str]:
        tokens = _TOKEN.findall(text.lower())
        if self.stop_words:
            tokens = [t for t in tokens if t not in ENGLISH_STOP_WORDS]
        if self.stemmer is not None:
            stem = self._stemmer()
            tokens = [stem(t) for t in tokens]
        return tokens

    def _stemmer(self) -> Any:
        if self._stem is None:
            from nltk.stem import PorterStemmer, SnowballStemmer

            stemmer = PorterStemmer() if self.stemmer == "porter" else SnowballStemmer("english")
            object.__setattr__(self, "_stem", stemmer.stem)
        return self._stem


class TextColumn(TransformerMixin, BaseEstimator):
    """One text column (a one-column frame or a series) as the 1-D array of strings vectorizers expect;
    missing values become empty documents."""

    def fit(self, X: Any, y: Any = None) -> TextColumn:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X, dtype=object).ravel())
        return column.astype("object").where(column.notna(), "").astype(str).to_numpy()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else ["text"], dtype=object)


class AddressFree:
    """Leaves out of a vectorizer's pickled state the memory address scikit-learn caches once it has checked the stop
    words (`_stop_words_id`, the `id` of `stop_words`, None included), which differs in every process; without it
    the same fit pickles to the same bytes. After loading, the check simply runs again."""

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_stop_words_id", None)
        return state


class TfidfText(AddressFree, TfidfVectorizer):
    """`TfidfVectorizer` that pickles to the same bytes in every process (AddressFree)."""


class CountText(AddressFree, CountVectorizer):
    """`CountVectorizer` that pickles to the same bytes in every process (AddressFree)."""


class HashingTextVectorizer(AddressFree, HashingVectorizer):
    """`HashingVectorizer` with feature names (hash_0 ... hash_{n-1}), so a column transformer can name its
    output; pickles to the same bytes in every process (AddressFree)."""

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"hash_{i}" for i in range(self.n_features)], dtype=object)
