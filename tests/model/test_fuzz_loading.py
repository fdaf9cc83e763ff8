"""The loader is total: every mutated model file opens or is refused with a reason.

A few hundred seeded cases run in ``make test``; ``make fuzz`` runs ten thousand
(``FUZZ_CASES=10000``). A failing case names its seed: ``run_case(seed, …)`` rebuilds it.
"""

from __future__ import annotations

import collections
import os

import pytest

from tests.model.model_fuzzer import run_case
from tests.model_factory import nested_model, save, sequence_model, two_input_model

CASES = int(os.environ.get("FUZZ_CASES", "300"))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_sources")
    return {
        ".keras": save(two_input_model(), folder, "two_io.keras"),
        ".h5": save(two_input_model(), folder, "two_io.h5"),
        "_nested.keras": save(nested_model(), folder, "nested.keras"),
        "_sequence.keras": save(sequence_model(), folder, "sequence.keras"),
    }


def test_every_mutated_file_opens_or_is_refused_with_a_reason(sources, tmp_path):
    outcomes = [run_case(case, sources, tmp_path) for case in range(CASES)]
    counts = collections.Counter(outcome.result for outcome in outcomes)
    print(f"{CASES} cases: {dict(counts)}")
    bad = [outcome for outcome in outcomes if outcome.result in ("raw", "hang")]
    assert not bad, "\n".join(f"case {o.case} ({o.how}): {o.result} {o.detail[:300]}" for o in bad[:10])
