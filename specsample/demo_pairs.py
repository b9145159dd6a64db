"""The embedded target/draft pairs that ``specsample demo`` runs every verifier on.

Each pair is a named, deterministic ``(p, q)`` over a small vocabulary (64 to 1000 tokens),
built in code from closed forms -- Zipf laws, temperatures, and a fixed integer hash for
per-token noise (no random generator, so the pairs are identical on every platform and
numpy version). Together they span the regimes in which the verifiers differ:

========  =====  ==========================================================================
name      V      what it models
========  =====  ==========================================================================
close     1000   a good draft model: the target's shape with mild per-token disagreement
flat      1000   an under-confident draft (the target at temperature 1.6): too much tail
sharp     1000   an over-confident draft (the target at temperature 0.6): too little tail
peaked    200    a confident target whose top token the draft ranks first but under-weights
hard      400    a poor draft: the target's shape with the token ranking scrambled
point     64     a point-mass target (a forced token); the draft is top-32 truncated
det       64     a deterministic draft (a Jacobi iterate or n-gram guess): q is a point mass
========  =====  ==========================================================================

``p`` is the target, ``q`` the draft, as everywhere in specsample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class Pair:
    """A named target/draft pair of next-token distributions.

    Attributes
    ----------
    name : str
        Short identifier (used by ``specsample demo --pairs``).
    description : str
        One line saying what the pair models.
    target : ndarray of float64, shape (V,)
        The target distribution ``p`` (read-only).
    draft : ndarray of float64, shape (V,)
        The draft distribution ``q`` (read-only).
    """

    name: str
    description: str
    target: np.ndarray
    draft: np.ndarray

    @property
    def vocab(self) -> int:
        """Number of tokens ``V``."""
        return int(self.target.shape[0])


def hash_uniforms(n: int, salt: int) -> np.ndarray:
    """``n`` deterministic numbers in (0, 1) from the splitmix64 hash of ``(salt, i)``.

    Used as fixed per-token "noise" so that the pairs need no random generator.
    """
    start = np.uint64((salt * _GOLDEN) & _MASK64)
    with np.errstate(over="ignore"):
        z = start + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    # top 53 bits, centred in their cell: never exactly 0 or 1
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def _normalized(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def zipf(vocab: int, exponent: float) -> np.ndarray:
    """``p(i) proportional to (i + 1) ** -exponent`` for ``i`` in ``[0, vocab)``."""
    rank = np.arange(1, vocab + 1, dtype=np.float64)
    return _normalized(rank**-exponent)


def tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    """``p ** (1 / temperature)`` renormalised (softmax of ``log p / temperature``)."""
    logits = np.log(p) / temperature
    return _normalized(np.exp(logits - logits.max()))


def _scramble(vocab: int, salt: int) -> np.ndarray:
    """A fixed permutation of ``range(vocab)``: the order of the hashed uniforms."""
    return np.argsort(hash_uniforms(vocab, salt), kind="stable")


def _frozen(name: str, description: str, p: np.ndarray, q: np.ndarray) -> Pair:
    p = np.array(p, dtype=np.float64)
    q = np.array(q, dtype=np.float64)
    p.flags.writeable = False
    q.flags.writeable = False
    return Pair(name=name, description=description, target=p, draft=q)


def _close() -> Pair:
    p = zipf(1000, 1.1)
    noise = 2.0 * hash_uniforms(1000, salt=1) - 1.0  # in (-1, 1)
    q = _normalized(p * np.exp(0.8 * noise))
    return _frozen(
        "close",
        "good draft model: Zipf(1.1) target; draft = target x exp(per-token noise in +-0.8)",
        p,
        q,
    )


def _flat() -> Pair:
    p = zipf(1000, 1.2)
    return _frozen(
        "flat",
        "under-confident draft: Zipf(1.2) target; draft = target at temperature 1.6",
        p,
        tempered(p, 1.6),
    )


def _sharp() -> Pair:
    p = zipf(1000, 1.2)
    return _frozen(
        "sharp",
        "over-confident draft: Zipf(1.2) target; draft = target at temperature 0.6",
        p,
        tempered(p, 0.6),
    )


def _peaked() -> Pair:
    vocab = 200
    # token 0 carries 0.7 of the target and is the draft's top token with only 0.3;
    # the two tails have different shapes and different per-token noise
    p = np.empty(vocab)
    p[0] = 0.7
    p[1:] = 0.3 * _normalized(zipf(vocab - 1, 1.0) * np.exp(hash_uniforms(vocab - 1, salt=2)))
    q = np.empty(vocab)
    q[0] = 0.3
    q[1:] = 0.7 * _normalized(zipf(vocab - 1, 0.8) * np.exp(hash_uniforms(vocab - 1, salt=3)))
    return _frozen(
        "peaked",
        "confident target (0.7 on one token); the draft ranks it first but gives it 0.3",
        p,
        q,
    )


def _hard() -> Pair:
    vocab = 400
    p = zipf(vocab, 1.0)
    q = p[_scramble(vocab, salt=4)]
    return _frozen(
        "hard",
        "poor draft: same Zipf(1.0) shape as the target, token ranking scrambled",
        p,
        q,
    )


def _point() -> Pair:
    vocab = 64
    forced = 3
    p = np.zeros(vocab)
    p[forced] = 1.0
    # the draft: 0.55 on the forced token, 0.45 Zipf over 31 other tokens, 0 elsewhere
    order = _scramble(vocab, salt=5)
    others = order[order != forced][:31]
    q = np.zeros(vocab)
    q[others] = 0.45 * zipf(31, 1.0)
    q[forced] = 0.55
    return _frozen(
        "point",
        "point-mass target (a forced token); draft gives it 0.55, rest over 31 tokens (top-32)",
        p,
        q,
    )


def _det() -> Pair:
    vocab = 64
    p = zipf(vocab, 1.0)
    q = np.zeros(vocab)
    q[1] = 1.0  # the target's second most likely token
    return _frozen(
        "det",
        "deterministic draft (Jacobi iterate, n-gram guess): q = point mass on p's 2nd token",
        p,
        q,
    )


def demo_pairs() -> dict[str, Pair]:
    """The embedded pairs, name -> :class:`Pair`, in the order the demo reports them.

    Built afresh on every call (a few milliseconds); the arrays are read-only.
    """
    pairs = (_close(), _flat(), _sharp(), _peaked(), _hard(), _point(), _det())
    return {pair.name: pair for pair in pairs}


#: Names of the embedded pairs, in report order.
PAIR_NAMES: tuple[str, ...] = ("close", "flat", "sharp", "peaked", "hard", "point", "det")
