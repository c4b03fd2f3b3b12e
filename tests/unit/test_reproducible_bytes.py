"""The same fit gives the same model bytes and the same predictions in every process and thread schedule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.feature_extraction.text import TfidfVectorizer

from tasks.ml.estimators import OrderedForestClassifier, OrderedForestRegressor
from tasks.ml.text import CountText, HashingTextVectorizer, TfidfText, Tokenizer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["the cat sat on the mat", "a dog and the cat", "dogs bark at the mailman", "the mat is red"] * 5

FIT_AND_HASH = """
import hashlib, io, joblib
from tasks.ml.text import CountText, HashingTextVectorizer, TfidfText, Tokenizer
docs = {docs!r}
out = []
for vec in (TfidfText(min_df=1), TfidfText(tokenizer=Tokenizer(stop_words=True), token_pattern=None),
            CountText(binary=True), HashingTextVectorizer(n_features=64)):
    vec.fit_transform(docs)
    buffer = io.BytesIO()
    joblib.dump(vec, buffer)
    out.append(hashlib.sha256(buffer.getvalue()).hexdigest())
print(" ".join(out))
"""


def _hashes_in_new_process(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", FIT_AND_HASH.format(docs=DOCS)], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip()


def test_fitted_vectorizers_pickle_to_the_same_bytes_in_every_process() -> None:
    first, second = _hashes_in_new_process("1"), _hashes_in_new_process("2")
    assert first == second
    assert len(set(first.split())) == 4


@pytest.mark.parametrize("vectorizer", [TfidfText(), CountText(), HashingTextVectorizer(n_features=16)])
def test_the_stop_word_check_address_is_left_out_of_the_pickled_state(vectorizer) -> None:
    plain = TfidfVectorizer().fit(DOCS)
    assert "_stop_words_id" in plain.__getstate__()  # what scikit-learn itself would pickle
    vectorizer.fit_transform(DOCS)
    assert "_stop_words_id" not in vectorizer.__getstate__()
    assert np.array_equal(vectorizer.transform(DOCS).toarray(), vectorizer.transform(DOCS).toarray())


def test_ordered_vectorizers_transform_as_scikit_learns() -> None:
    ours = TfidfText(tokenizer=Tokenizer(stop_words=True), token_pattern=None).fit(DOCS)
    theirs = TfidfVectorizer(tokenizer=Tokenizer(stop_words=True), token_pattern=None).fit(DOCS)
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    assert np.array_equal(ours.transform(DOCS).toarray(), theirs.transform(DOCS).toarray())


def test_forest_regressor_predicts_as_one_thread_does() -> None:
    X, y = make_regression(n_samples=400, n_features=8, noise=5.0, random_state=0)
    ours = OrderedForestRegressor(n_estimators=60, n_jobs=2, random_state=0).fit(X, y)
    one_thread = RandomForestRegressor(n_estimators=60, n_jobs=1, random_state=0).fit(X, y)
    for _ in range(3):
        assert np.array_equal(ours.predict(X), one_thread.predict(X))
    assert ours.n_jobs == 2


def test_forest_classifier_probabilities_are_summed_in_tree_order() -> None:
    X, y = make_classification(n_samples=400, n_features=8, n_classes=3, n_informative=5, random_state=0)
    ours = OrderedForestClassifier(n_estimators=60, n_jobs=2, random_state=0).fit(X, y)
    one_thread = RandomForestClassifier(n_estimators=60, n_jobs=1, random_state=0).fit(X, y)
    assert np.array_equal(ours.predict_proba(X), one_thread.predict_proba(X))
    assert np.array_equal(ours.predict(X), one_thread.predict(X))
