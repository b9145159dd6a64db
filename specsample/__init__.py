"""specsample: exact verifiers for speculative decoding, their optimal-transport ceilings,
and tools that test a sampler preserves the target distribution.

``p`` is always the target model's next-token distribution and ``q`` the draft model's.
Every scheme module keeps the contract described in :mod:`specsample.scheme`.
"""

from specsample import kseq, optimal, rrs, rrsw, single, spechub
from specsample.scheme import Scheme, Verdict

__version__ = "0.1.0"

#: Scheme name -> module, in the order reports list them.
SCHEMES: dict[str, Scheme] = {
    module.NAME: module for module in (single, rrs, rrsw, spechub, kseq, optimal.iid, optimal.wor)
}

__all__ = [
    "SCHEMES", "Scheme", "Verdict", "__version__", "kseq", "optimal", "rrs", "rrsw", "single",
    "spechub",
]
