"""Proofs of the exact verifiers, each paired with an executable exact check.

Every ``<scheme>.md`` states and proves what :mod:`specsample.<scheme>` computes; every
``check_<scheme>.py`` transcribes that proof's algorithm in plain ``fractions.Fraction``
arithmetic, enumerates a grid of rational instances (:mod:`proofs._grid`), asserts the
proven statements exactly, and asserts that the library's exact path agrees with the
transcription. ``python -m proofs`` runs every check; see ``proofs/README.md``.
"""

#: The check modules: one per verifier, in the order of ``specsample.SCHEMES`` (SpecHub has
#: two: k = 2, k >= 3), then the sweep lemma the two optimal verifiers share, then the checks
#: of other claims (the optimal-transport proofs ``ot_*`` are run by tests/lp).
CHECKS = (
    "check_single", "check_rrs", "check_rrsw", "check_spechub", "check_spechub_k", "check_kseq",
    "check_opt_iid", "check_opt_wor", "check_opt_sweep", "check_data_buckets",
)
