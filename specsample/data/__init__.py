r"""Real target/draft next-token distribution pairs that ship with specsample.

:func:`load_pairs` reads ``qwen2.5-coder_pairs.npz`` (format: ``README.md`` beside this
file; generator: ``scripts/make_dataset.py``). Every pair comes from the Qwen2.5-Coder
1.5B-Instruct target and 0.5B-Instruct draft (Q4_K_M, see ``shared/MODELS.md``) at the same
temperature (0.6 or 1.0), at a position along the target's own sampled continuation of a
code, prose or chat prompt.

Each pair is stored over a *reduced alphabet*: the tokens in the union of both models' top
sets (ascending id), then a few *ratio buckets* (token ids ``-1, -2, ...``): the remaining
tokens, sorted by ``p/q`` and cut into consecutive groups, each merged into one outcome that
carries the group's mass under each model. The reduced pair is itself a valid target/draft
pair (the image of the real 151,936-token pair under that deterministic merge), so any
acceptance rate or bound computed on it is one of a real instance. For i.i.d. drafts (any
``k``, including ``k = 1``) the optimal-transport bound of the reduced pair ``alpha*_r`` and
that of the full pair ``alpha*`` satisfy

.. math::

    0 \le \alpha^*_r - \alpha^* \le \max_b \min\bigl(p(B_b),\; 1 - (1 - q(B_b))^k\bigr)

over the buckets ``B_b`` (proof in the README: merging can only help a verifier, and an
optimal cut is a ratio threshold, which splits at most one bucket). The file's metadata
records the differences measured on full-vocabulary pairs.

This module is core-layer code: numpy only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

import numpy as np

#: The shipped file.
DATA_FILE = Path(__file__).with_name("qwen2.5-coder_pairs.npz")

_PER_PAIR = ("temperature", "prompt_index", "position", "context_len", "emitted_token",
             "p_tail", "q_tail", "target_argmax", "draft_argmax", "n_buckets")
_REQUIRED = ("offsets", "token_ids", "p", "q", "prompt_kind", "prompt_source", "prompt_text", "meta",
             *_PER_PAIR)


@dataclass(frozen=True, eq=False)
class Prompt:
    """A prompt of the dataset: ``kind`` is ``"code"``, ``"prose"`` or ``"chat"``."""

    index: int
    kind: str
    source: str
    text: str


@dataclass(frozen=True, eq=False)
class RealPair:
    """One target/draft pair over a reduced alphabet of ``n`` outcomes.

    Attributes
    ----------
    p, q : numpy.ndarray, shape (n,), float64
        Target and draft law: kept tokens in ascending id order, then the ratio buckets.
        Each sums to 1 up to float64 rounding (|sum - 1| < 1e-12).
    token_ids : numpy.ndarray, shape (n,), int64
        Qwen token ids of the kept tokens, then ``-1, -2, ..., -n_buckets`` for the buckets
        (in ascending order of their tokens' ``p/q``).
    temperature : float
        Temperature applied to both models' logits.
    prompt : Prompt
        The prompt whose continuation this position belongs to.
    position : int
        Index of the position in the target's sampled continuation (0 = first new token).
    context_len : int
        Number of tokens of context (prompt + continuation so far).
    emitted_token : int
        The token the target actually sampled here (the context of position + 1 ends with it).
    p_tail, q_tail : float
        Mass of all buckets under p and q (the mass outside the kept tokens).
    target_argmax, draft_argmax : int
        Greedy token of each model at full vocabulary.
    n_buckets : int
        Number of ratio buckets (the last ``n_buckets`` outcomes).
    """

    p: np.ndarray
    q: np.ndarray
    token_ids: np.ndarray
    temperature: float
    prompt: Prompt
    position: int
    context_len: int
    emitted_token: int
    p_tail: float
    q_tail: float
    target_argmax: int
    draft_argmax: int
    n_buckets: int

    @property
    def size(self) -> int:
        """Number of outcomes (kept tokens + buckets)."""
        return int(self.p.size)

    @property
    def kept_ids(self) -> np.ndarray:
        """Token ids of the kept tokens (the first ``size - n_buckets`` outcomes)."""
        return self.token_ids[: self.size - self.n_buckets]


@dataclass(frozen=True, eq=False)
class RealPairs(Sequence[RealPair]):
    """A read-only collection of :class:`RealPair` with the file's metadata.

    ``meta`` holds the generation settings, model hashes, summary statistics and the
    full-vocabulary check (see ``README.md``).
    """

    pairs: tuple[RealPair, ...]
    prompts: tuple[Prompt, ...]
    meta: MappingProxyType = field(repr=False)
    path: Path

    def __len__(self) -> int:
        return len(self.pairs)

    @overload
    def __getitem__(self, index: int) -> RealPair: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RealPair, ...]: ...
    def __getitem__(self, index):
        return self.pairs[index]

    def __iter__(self) -> Iterator[RealPair]:
        return iter(self.pairs)

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The distinct temperatures present, ascending."""
        return tuple(sorted({pair.temperature for pair in self.pairs}))

    def select(self, *, temperature: float | None = None, kind: str | None = None) -> RealPairs:
        """The pairs at one temperature and/or of one prompt kind (``ValueError`` if none)."""
        chosen = self.pairs
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
                raise TypeError(f"temperature must be a float; got {type(temperature).__name__}")
            chosen = tuple(p for p in chosen if p.temperature == float(temperature))
            if not chosen:
                raise ValueError(f"temperature={temperature!r} is not in the data; present: {self.temperatures}")
        if kind is not None:
            kinds = sorted({p.kind for p in self.prompts})
            if kind not in kinds:
                raise ValueError(f"kind={kind!r} is not in the data; present: {kinds}")
            chosen = tuple(p for p in chosen if p.prompt.kind == kind)
        return RealPairs(pairs=chosen, prompts=self.prompts, meta=self.meta, path=self.path)


def load_pairs(
    *,
    temperature: float | None = None,
    kind: str | None = None,
    path: str | Path | None = None,
) -> RealPairs:
    """Load the shipped real pairs (or a file of the same format).

    Parameters
    ----------
    temperature : float, optional
        Keep only the pairs at this temperature (0.6 or 1.0 in the shipped file).
    kind : str, optional
        Keep only pairs from prompts of this kind: ``"code"``, ``"prose"`` or ``"chat"``.
    path : path, optional
        A ``.npz`` in the format of ``README.md``; default :data:`DATA_FILE`.

    Returns
    -------
    RealPairs
        Sequence of :class:`RealPair` (``p``, ``q`` float64 of shape (n,), varying n).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not in the documented format, or the selection is empty.
    """
    source = DATA_FILE if path is None else Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"path={str(source)!r} does not exist")
    with np.load(source, allow_pickle=False) as npz:
        missing = [name for name in _REQUIRED if name not in npz.files]
        if missing:
            raise ValueError(f"{source.name} is not a specsample real-pairs file: missing arrays {missing}")
        arrays = {name: npz[name] for name in _REQUIRED}
    pairs, prompts, meta = _unpack(arrays, source.name)
    out = RealPairs(pairs=pairs, prompts=prompts, meta=MappingProxyType(meta), path=source)
    if temperature is not None or kind is not None:
        out = out.select(temperature=temperature, kind=kind)
    return out


def _unpack(a: dict[str, np.ndarray], label: str) -> tuple[tuple[RealPair, ...], tuple[Prompt, ...], dict[str, Any]]:
    offsets = a["offsets"].astype(np.int64)
    n = offsets.size - 1
    total = a["token_ids"].size
    if n < 0 or offsets[0] != 0 or offsets[-1] != total or np.any(np.diff(offsets) < 1):
        raise ValueError(f"{label}: offsets must rise from 0 to len(token_ids)={total} in steps of at least 1")
    for name in ("p", "q"):
        if a[name].shape != (total,):
            raise ValueError(f"{label}: {name} has shape {a[name].shape}; expected ({total},)")
    for name in _PER_PAIR:
        if a[name].shape != (n,):
            raise ValueError(f"{label}: {name} has shape {a[name].shape}; expected ({n},)")
    prompts = tuple(
        Prompt(index=i, kind=str(k), source=str(s), text=str(t))
        for i, (k, s, t) in enumerate(zip(a["prompt_kind"], a["prompt_source"], a["prompt_text"], strict=True))
    )
    if n and (a["prompt_index"].min() < 0 or a["prompt_index"].max() >= len(prompts)):
        raise ValueError(f"{label}: prompt_index points outside the {len(prompts)} prompts")
    meta = json.loads(str(a["meta"]))
    ids = a["token_ids"].astype(np.int64)
    p_all = a["p"].astype(np.float64)
    q_all = a["q"].astype(np.float64)
    pairs = []
    for i in range(n):
        lo, hi = offsets[i], offsets[i + 1]
        pairs.append(
            RealPair(
                p=_readonly(p_all[lo:hi]),
                q=_readonly(q_all[lo:hi]),
                token_ids=_readonly(ids[lo:hi]),
                temperature=float(a["temperature"][i]),
                prompt=prompts[int(a["prompt_index"][i])],
                position=int(a["position"][i]),
                context_len=int(a["context_len"][i]),
                emitted_token=int(a["emitted_token"][i]),
                p_tail=float(a["p_tail"][i]),
                q_tail=float(a["q_tail"][i]),
                target_argmax=int(a["target_argmax"][i]),
                draft_argmax=int(a["draft_argmax"][i]),
                n_buckets=int(a["n_buckets"][i]),
            )
        )
    return tuple(pairs), prompts, meta


def _readonly(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x)
    x.flags.writeable = False
    return x


__all__ = ["DATA_FILE", "Prompt", "RealPair", "RealPairs", "load_pairs"]
