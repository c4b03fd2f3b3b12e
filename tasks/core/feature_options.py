"""Typed feature-engineering options: what `build_preprocessor` builds inside a model's pipeline.

Set per problem (`featurize.<problem>.options` in `params.yaml`) and overridden per model
(`train.<key>.features`) with `FeatureOptions.merged`; an unknown key or a wrong value fails with its path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BinningOptions(_Strict):
    """Numeric columns replaced by bins (one-hot bins for one-hot encoding, bin codes for ordinal encoding)."""

    columns: list[str] = Field(min_length=1)
    n_bins: int = Field(default=5, ge=2)
    strategy: Literal["uniform", "quantile", "kmeans"] = "quantile"


class TextOptions(_Strict):
    """How each text column becomes token features."""

    vectorizer: Literal["binary", "count", "tfidf", "hashing"] = "tfidf"
    ngram_range: tuple[int, int] = (1, 1)
    analyzer: Literal["word", "char_wb"] = "word"
    stop_words: bool = False
    stemming: bool = False
    stemmer: Literal["porter", "snowball"] = "porter"
    max_features: int | None = Field(default=None, ge=1, description="vocabulary cap (not for hashing)")
    min_df: int = Field(default=1, ge=1, description="documents a token must appear in (not for hashing)")
    n_features: int = Field(default=2**18, ge=2, description="hash space (hashing only)")

    @model_validator(mode="after")
    def _consistent(self) -> TextOptions:
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (min, max) with 1 <= min <= max, got {self.ngram_range}")
        if self.analyzer == "char_wb" and (self.stop_words or self.stemming):
            raise ValueError("stop_words and stemming apply to word tokens; they need analyzer='word'")
        if self.vectorizer == "hashing" and self.max_features is not None:
            raise ValueError("max_features caps a vocabulary; the hashing vectorizer has none (set n_features)")
        return self


class FeatureOptions(_Strict):
    """Every feature-engineering choice; the defaults match `make_preprocessor(encoding="onehot", scale=True)`."""

    numeric_scaling: Literal["standard", "minmax", "unit", "none"] = Field(
        default="standard", description="standard and minmax scale each column; unit divides every numeric column "
        "by one factor, the largest absolute training value (pixels keep their relative scale: an almost constant "
        "border pixel is not blown up); none leaves them")
    deskew: tuple[int, int] | None = Field(default=None, description="[height, width]: the numeric columns, in "
                                           "order, are images; each is deskewed before scaling (tasks/ml/image.py)")
    impute: bool = Field(default=True, description="false: missing values reach the model as NaN (a missing "
                         "category as NaN codes), for families that route them natively (Family.native_missing)")
    impute_indicator: bool = Field(default=True, description="add was-missing columns for imputed numeric values")
    binning: BinningOptions | None = None
    interactions: list[tuple[str, str]] = Field(default=[], description="numeric column pairs multiplied")
    polynomial_degree: int | None = Field(default=None, ge=2, le=4)
    categorical_encoding: Literal["onehot", "ordinal"] = "onehot"
    rare_category_min_frequency: int | float | None = Field(
        default=None, gt=0, description="categories rarer than this (a count, or a fraction < 1) are grouped")
    text: TextOptions = TextOptions()
    pca_variance: float | None = Field(default=None, gt=0, lt=1, description="keep components explaining this")
    svd_rank: int | None = Field(default=None, ge=1)
    vif_threshold: float | None = Field(default=None, gt=1, description="drop features whose VIF exceeds this")
    resampling: Literal["none", "downsample", "class_weight"] = "none"

    @model_validator(mode="after")
    def _consistent(self) -> FeatureOptions:
        if self.pca_variance is not None and self.svd_rank is not None:
            raise ValueError("choose one reduction: pca_variance or svd_rank")
        if not self.impute and (self.pca_variance or self.svd_rank or self.vif_threshold or self.binning
                                or self.interactions):
            raise ValueError("impute: false keeps NaN, which binning, interactions, pca_variance, svd_rank and "
                             "vif_threshold cannot take; drop them or keep impute: true")
        if self.deskew is not None and (min(self.deskew) < 1 or self.binning or self.interactions
                                        or self.polynomial_degree):
            raise ValueError("deskew needs a positive [height, width] and no binning, interactions or "
                             "polynomial_degree on the pixel columns")
        if isinstance(self.rare_category_min_frequency, float) and self.rare_category_min_frequency >= 1:
            raise ValueError("rare_category_min_frequency as a fraction must be < 1; use an int for a count")
        for a, b in self.interactions:
            if a == b:
                raise ValueError(f"interaction ({a!r}, {b!r}) pairs a column with itself; use polynomial_degree")
        return self

    def merged(self, overrides: dict[str, Any] | None) -> FeatureOptions:
        """These options with `overrides` (a per-model `features:` mapping) applied, validated again."""
        if not overrides:
            return self
        return FeatureOptions.model_validate({**self.model_dump(), **overrides})
