"""Chi-square goodness of fit with a stated false-alarm budget.

Stand-in for ``specsample.testing.assert_follows`` (being written on main); same call shape,
so the decode tests can switch to it when it lands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping

from scipy import stats

#: Cells whose expected count is below this are pooled into one cell.
MIN_EXPECTED = 5.0


def assert_follows(samples: Iterable[Hashable], law: Mapping[Hashable, float], *, budget: float = 1e-6) -> None:
    """Raise ``AssertionError`` unless ``samples`` are consistent with ``law``.

    Pearson's chi-square test on the cells of ``law``, small cells pooled so that every
    cell expects at least :data:`MIN_EXPECTED` samples. A correct sampler fails with
    probability at most ``budget`` (asymptotically). A sample outside the support of
    ``law`` fails at once.
    """
    counts = Counter(samples)
    n = sum(counts.values())
    impossible = [x for x in counts if law.get(x, 0.0) <= 0.0]
    assert not impossible, f"samples {impossible[:5]} have probability 0 under the law"
    cells = sorted(law, key=lambda x: law[x], reverse=True)
    observed, expected = [], []
    pool_obs, pool_exp = 0, 0.0
    for x in cells:
        e = n * law[x]
        if e >= MIN_EXPECTED:
            observed.append(counts.get(x, 0))
            expected.append(e)
        else:
            pool_obs += counts.get(x, 0)
            pool_exp += e
    if pool_exp > 0.0:
        if pool_exp >= MIN_EXPECTED or not expected:
            observed.append(pool_obs)
            expected.append(pool_exp)
        else:  # too small to stand alone: merge into the smallest kept cell
            observed[-1] += pool_obs
            expected[-1] += pool_exp
    assert len(expected) >= 2, f"{n} samples are too few for a test with budget {budget}"
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    threshold = stats.chi2.isf(budget, len(expected) - 1)
    assert chi2 <= threshold, (
        f"chi-square {chi2:.1f} > {threshold:.1f} (df {len(expected) - 1}, budget {budget}, n {n}); "
        f"observed {observed}, expected {[round(e, 1) for e in expected]}"
    )
