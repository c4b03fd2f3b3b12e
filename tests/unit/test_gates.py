"""Gate messages name the model (or batch) each failing reason belongs to."""

from flows.gates import failed_reasons


def test_failed_reasons_name_the_model():
    rows = [{"model": "penguins-knn", "status": "fail", "reasons": ["f1_macro 0.6000 < min 0.7"]},
            {"model": "penguins-tree", "status": "pass", "reasons": []},
            {"subject": "batch_2016", "status": "fail", "reasons": ["share of drifted columns 0.40 > 0.30"]},
            {"model": "penguins-nb", "status": "fail", "reasons": []}]
    assert failed_reasons(rows) == ["penguins-knn: f1_macro 0.6000 < min 0.7",
                                    "batch_2016: share of drifted columns 0.40 > 0.30", "penguins-nb: failed"]
