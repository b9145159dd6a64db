"""Run every exact check of ``proofs/`` at its default grid (one test per verifier).

Each check raises ``proofs._common.ProofCheckError`` naming the statement and the instance
that broke it; here we also assert that it enumerated a non-trivial number of instances and
draft tuples, so a grid that silently became empty cannot pass.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # proofs/ is a top-level folder, not an installed package
    sys.path.insert(0, str(ROOT))

# Lower bounds on what each default grid enumerates: instances, draft tuples.
MINIMUM = {
    "check_single": (800, 1500),
    "check_rrs": (2500, 13000),
    "check_rrsw": (1600, 4000),
    "check_spechub": (1500, 3500),
    "check_spechub_k": (13000, 65000),
    "check_kseq": (2600, 38000),
    "check_opt_iid": (2600, 13000),
    "check_opt_wor": (700, 1900),
    "check_opt_sweep": (300, 1000),  # (random instances, items swept)
    "check_data_buckets": (850, 29000),  # (p, q) pairs, reductions
}


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_exact_check(name: str) -> None:
    module = importlib.import_module(f"proofs.{name}")
    tally = module.check()
    least_instances, least_tuples = MINIMUM[name]
    assert tally.instances >= least_instances, tally
    assert tally.tuples >= least_tuples, tally


def test_every_check_is_run() -> None:
    from proofs import CHECKS

    assert set(CHECKS) == set(MINIMUM)


def test_check_catches_a_verifier_that_is_not_exact(monkeypatch) -> None:
    """The checks can fail: RRS without its final residual draw (accepting nothing when all
    drafts are rejected) loses mass, and check_rrs reports Theorem 1 as broken."""
    from proofs import check_rrs
    from proofs._common import ProofCheckError

    exact = check_rrs.output_law

    def no_residual(p, q, drafts):
        law = exact(p, q, drafts)
        out = [0] * len(p)
        for x in set(drafts):
            out[x] = law[x]
        return out

    monkeypatch.setattr(check_rrs, "output_law", no_residual)
    with pytest.raises(ProofCheckError, match="Theorem 1"):
        check_rrs.check(max_vocab=2)


def test_spechub_k_check_catches_a_residual_without_the_hubs(monkeypatch) -> None:
    """A hub-set verifier whose residual leaves out the hubs (only ``(p - q')+`` outside A)
    is not exact, and check_spechub_k reports Theorem 1 as broken."""
    from proofs import check_spechub_k
    from proofs._common import ProofCheckError

    exact = check_spechub_k.residual

    def without_hubs(p, q, hubs):
        return [0 if x in hubs else r for x, r in enumerate(exact(p, q, hubs))]

    monkeypatch.setattr(check_spechub_k, "residual", without_hubs)
    with pytest.raises(ProofCheckError, match=r"Theorem 1|Lemma 3"):
        check_spechub_k.check(max_vocab=3)


def test_check_catches_a_library_that_disagrees(monkeypatch) -> None:
    """The library comparison can fail: an ``output_law`` that returns a permuted law is
    reported even though the transcription itself is exact."""
    from proofs import check_single
    from proofs._common import ProofCheckError
    from specsample import single

    library = single.output_law
    monkeypatch.setattr(single, "output_law", lambda p, q, drafts: library(p, q, drafts)[::-1])
    with pytest.raises(ProofCheckError, match=r"library single\.output_law"):
        check_single.check(max_vocab=2)
