"""Gate messages name the model (or batch) each failing reason belongs to."""

from flows.gates import failed_reasons
from tasks.core.artefacts import GateResult, GateRow


def test_failed_reasons_name_the_model():
    rows = [GateRow("penguins-knn", GateResult.of(["f1_macro 0.6000 < min 0.7"])),
            GateRow("penguins-tree", GateResult("pass")),
            GateRow("batch_2016", GateResult.of(["share of drifted columns 0.40 > 0.30"]), "subject"),
            GateRow("penguins-nb", GateResult("fail"))]
    assert failed_reasons(rows) == ["penguins-knn: f1_macro 0.6000 < min 0.7",
                                    "batch_2016: share of drifted columns 0.40 > 0.30", "penguins-nb: failed"]
