"""The mutation check stays applicable: each planted bug's text occurs exactly once in the file it mutates, and the
tests it names exist (a refactor of the mutated code must update scripts/mutation_check.py)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("mutation_check", ROOT / "scripts" / "mutation_check.py")
mutation_check = importlib.util.module_from_spec(spec)
sys.modules.setdefault("mutation_check", mutation_check)  # dataclasses resolve their module by name
spec.loader.exec_module(mutation_check)


@pytest.mark.parametrize("mutant", mutation_check.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_applies_once_and_names_existing_tests(mutant):
    assert (ROOT / mutant.path).read_text().count(mutant.old) == 1, f"{mutant.name}: update its text in MUTANTS"
    assert mutant.old != mutant.new
    assert all((ROOT / test).exists() for test in mutant.tests), mutant.tests
