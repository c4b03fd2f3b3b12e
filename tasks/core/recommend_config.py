"""The `recommend:` section of `params.yaml` as typed configuration (unknown keys are errors).

The random seed is not part of this section: it is the top-level `seed` of `params.yaml`, passed to
`run_recommendation` explicitly, so that one number drives every stage.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.core.errors import invalid_config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """The data contract applied to the ratings before anything is split or fitted."""

    invalid_rows: Literal["raise", "drop"] = Field(
        "raise", description="ratings off the 0.5-5 half-star scale, timestamps out of range or missing ids: "
                             "raise a DataError naming the column and values, or drop them and report the count")
    valid_from: date = Field(date(1995, 1, 1), description="earliest plausible rating date")
    valid_until: date = Field(date(2017, 1, 1), description="ratings at or after this date are implausible")
    sample_users: int | None = Field(None, ge=50, description="seeded random subset of users (quick runs, CI)")


class SplitConfig(_Strict):
    """Time split: the newest users are held out entirely; everyone's latest ratings are the targets."""

    heldout_user_fraction: float = Field(0.2, gt=0, lt=0.5, description="share of users, newest first")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="per user, the latest share of ratings held out")
    cold_start_profile: int = Field(5, ge=1, description="ratings a cold-start user shows before the targets")


class PopularitySpec(_Strict):
    kind: Literal["popularity"]
    half_life_days: float | None = Field(None, gt=0, description="exponential time decay; None counts all equally")


class ContentSpec(_Strict):
    kind: Literal["content"]
    year_weight: float = Field(0.5, ge=0, description="weight of the standardised release year beside genres")


class ItemKNNSpec(_Strict):
    kind: Literal["item_knn"]
    similarity: Literal["cosine", "pearson"] = "cosine"
    n_neighbours: int = Field(50, ge=1)
    shrinkage: float = Field(10.0, ge=0, description="sim * n / (n + shrinkage), n = co-rating users")
    half_life_days: float | None = Field(None, gt=0, description="decay of a user's older ratings")
    inverse_user_frequency: bool = True
    cold_item_neighbours: int = Field(20, ge=1, description="content neighbours an unrated item borrows from")


class ExplicitMFSpec(_Strict):
    kind: Literal["explicit_mf"]
    n_factors: int = Field(32, ge=1, le=128)
    regularization: float = Field(10.0, gt=0)
    n_iterations: int = Field(12, ge=1)
    cold_item_neighbours: int = Field(20, ge=1)


class ImplicitMFSpec(_Strict):
    kind: Literal["implicit_mf"]
    n_factors: int = Field(32, ge=1, le=128)
    regularization: float = Field(10.0, gt=0)
    alpha: float = Field(2.0, gt=0, description="confidence c = 1 + alpha * rating")
    n_iterations: int = Field(10, ge=1)
    cold_item_neighbours: int = Field(20, ge=1)


FamilySpec = Annotated[
    PopularitySpec | ContentSpec | ItemKNNSpec | ExplicitMFSpec | ImplicitMFSpec, Field(discriminator="kind")
]
MF_KINDS = ("explicit_mf", "implicit_mf")


def default_families() -> dict[str, FamilySpec]:
    return {
        "popularity": PopularitySpec(kind="popularity"),
        "popularity_decay": PopularitySpec(kind="popularity", half_life_days=365.0),
        "content": ContentSpec(kind="content"),
        "itemknn_cosine": ItemKNNSpec(kind="item_knn", similarity="cosine"),
        "itemknn_pearson": ItemKNNSpec(kind="item_knn", similarity="pearson", half_life_days=180.0),
        "mf_explicit": ExplicitMFSpec(kind="explicit_mf"),
        "mf_implicit": ImplicitMFSpec(kind="implicit_mf"),
    }


class RankerConfig(_Strict):
    """Two-stage ranking: cosine kNN candidates in an MF item space, re-ranked by LightGBM lambdarank."""

    retriever: str = Field("mf_implicit", description="an MF family whose item factors give the candidates")
    feature_families: list[str] = Field(
        default_factory=lambda: ["mf_implicit", "mf_explicit", "itemknn_cosine", "content", "popularity_decay"],
        description="families whose scores become ranker features")
    n_candidates: int = Field(200, ge=10)
    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage")
    n_estimators: int = Field(200, ge=1)
    num_leaves: int = Field(31, ge=2)
    min_child_samples: int = Field(50, ge=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    n_jobs: int = Field(1, ge=1, description="LightGBM threads (1 is fastest on a busy 2-core machine)")


class PositionBiasConfig(_Strict):
    """Rankers trained on clicks simulated from the candidate order, naively and with inverse propensity weights,
    scored against the true relevance beside the ranker trained on full information (the graded ratings)."""

    enabled: bool = Field(True, description="fit and report the two click-trained rankers")
    eta: float = Field(1.0, ge=0, description="the item at rank r is examined with propensity (1 / r) ** eta")
    sessions: int = Field(1, ge=1, description="views of each list; an item clicked in any of them is a click")
    min_propensity: float = Field(0.05, gt=0, le=1,
                                  description="propensities are clipped here, so no click weighs over 1 / clip")


class AttackConfig(_Strict):
    """Shilling (random) attack: fake profiles rate one target item 5 plus random filler items."""

    profile_fraction: float = Field(0.02, gt=0, le=0.2, description="fake profiles per training user")
    n_filler: int = Field(30, ge=0)
    target_item: int | None = Field(None, description="movieId; None picks a seeded obscure rated item")
    top_n: int = Field(10, ge=1)


class RecommendConfig(_Strict):
    k: int = Field(10, ge=1, description="list length for every @k metric")
    min_relevant_rating: float = Field(3.0, ge=0.5, le=5, description="held-out ratings below are not relevant")
    baseline: str = Field("popularity", description="the popularity family everything is compared with")
    examples: int = Field(3, ge=0, description="held-out users shown with titles in the report")
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    families: dict[str, FamilySpec] = Field(default_factory=default_families)
    ranker: RankerConfig = RankerConfig()
    position_bias: PositionBiasConfig = PositionBiasConfig()
    attack: AttackConfig = AttackConfig()

    @model_validator(mode="after")
    def _names_resolve(self) -> RecommendConfig:
        def kind(field: str, name: str) -> str:
            if name not in self.families:
                raise ValueError(f"{field}: unknown family {name!r}; expected one of {sorted(self.families)}")
            return self.families[name].kind

        if "ranker" in self.families:
            raise ValueError("families: the name 'ranker' is reserved for the learning-to-rank stage")
        if kind("baseline", self.baseline) != "popularity":
            raise ValueError(f"baseline: family {self.baseline!r} must be of kind 'popularity'")
        if kind("ranker.retriever", self.ranker.retriever) not in MF_KINDS:
            raise ValueError(f"ranker.retriever: family {self.ranker.retriever!r} must be of kind {MF_KINDS}")
        for name in self.ranker.feature_families:
            kind("ranker.feature_families", name)
        return self


def parse_recommend_config(raw: dict[str, Any] | None, origin: str = "params.yaml: recommend") -> RecommendConfig:
    """Validate the raw `recommend:` mapping; errors name the dotted parameter path and what was expected."""
    try:
        return RecommendConfig.model_validate(raw or {})
    except ValidationError as exc:
        raise invalid_config(exc, origin) from None
