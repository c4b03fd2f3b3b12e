"""Model-building blocks: estimators, preprocessing, metrics and statistics shared by stages and families."""
