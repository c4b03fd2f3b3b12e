"""Recommend: MovieLens recommenders (popularity, content, item-item CF, matrix factorisation), a learning-to-rank
stage over their candidates, offline evaluation with a time split, and a shilling-attack robustness check.

The entry point is `tasks.recommend.run.run_recommendation`; every other module is pure logic over explicit inputs.
"""
