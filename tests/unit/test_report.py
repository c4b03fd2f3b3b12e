import re

import pandas as pd

from tasks import report


def record(name, auc, family="xgboost"):
    roc = pd.DataFrame({"batch": ["holdout"] * 3, "fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]})
    meta = {"problem": "p", "family": family, "fit_seconds": 1.0, "train_rows": 10, "device": "cpu",
            "seed": 1, "hyperparameters": {}, "validation": {}}
    return report.ModelRecord(name=name, meta=meta, metrics={"holdout": {"roc_auc": auc, "log_loss": 0.3}},
                              roc=roc, confusion={"labels": [0, 1], "matrices": {"holdout": [[5, 1], [2, 4]]}})


def test_leaderboard_orders_by_primary_metric():
    board = report.leaderboard([record("a", 0.7), record("b", 0.9)], "roc_auc")
    assert board["model"].tolist() == ["b", "a"]
    board = report.leaderboard([record("a", 0.7), record("b", 0.9)], "log_loss")
    assert set(board["model"]) == {"a", "b"}


def test_pages_are_self_contained():
    records = [record("a", 0.7), record("b", 0.9)]
    board = report.leaderboard(records, "roc_auc")
    lineage = {"commit": "abc", "data": "d1", "params": "p1", "time": "now"}
    page = report.evaluation_page("p", records, board, "roc_auc", lineage)
    index = report.index_page("hub", {"p": report.summary(board, "roc_auc")}, {"p": [("evaluation", "x.html")]},
                              lineage)
    for doc in (page, index):
        assert "commit <b>abc</b>" in doc and "data <b>d1</b>" in doc
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?https?:", doc)
    assert page.count("<svg") == 4  # a ROC curve and a confusion matrix per model
    assert 'href="x.html"' in index
