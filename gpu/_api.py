"""Plumbing of the torch verifiers: argument checks, uniforms, and error messages.

Every torch scheme takes batched tensors::

    draft(q, k, *, generator=None, uniforms=None, validate=True)        -> (N, k) int64
    verify(p, q, drafts, *, generator=None, uniforms=None, validate=True) -> Verdict

with ``q`` (N, V) for ``draft`` and ``p``, ``q`` of 1 or N rows with ``drafts`` (N, k) for
``verify``. Uniforms have the core's layout: ``draft`` consumes (N, k), one per draw;
``verify`` consumes (N, k + 1): ``u[:, j]`` for the test of draft ``j`` and ``u[:, k]`` for
the residual draw.

Two tiers of checks:

* host checks, always on: types, dtypes, shapes, devices, ``k`` (no device access);
* value checks, on when ``validate=True``: finite non-negative entries, row sums (in the
  lane order of the core's scan) within :data:`specsample._checks.PROB_SUM_TOL` of 1, token ids in range with ``q > 0``, draft
  tuples inside the scheme's law, enough support, uniforms in [0, 1). They run batched on
  the tensors' device and are read back with ONE synchronisation per call. When one fails,
  the call is replayed on CPU copies through the numpy core, which raises its own
  ``ValueError`` naming the argument and the bad value: the torch schemes reject exactly
  what the core rejects, with the same messages.

``validate=False`` skips the value checks (and their synchronisation) for callers whose
inputs are valid by construction, such as float64 softmax outputs in the decode loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

from specsample import _api as core_api
from specsample._checks import PROB_SUM_TOL

from . import _sampling

#: Flags rows whose draft tuple lies outside a scheme's draft law: (q (N, V), drafts (N, k))
#: -> bool (N,). ``q`` is float64, already expanded to N rows.
TupleRule = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class DraftCall:
    """A checked ``draft`` call: ``q`` (N, V) float64 as given (not normalised), ``u`` (N, k)."""

    q: torch.Tensor
    k: int
    u: torch.Tensor


@dataclass(frozen=True)
class VerifyCall:
    """A checked ``verify`` call, every tensor expanded to N rows.

    ``p``, ``q`` (N, V) float64 as given; ``sp``, ``sq`` (N,) their row sums in the core's
    lane order; ``p_hat = p * (1.0 / sp)`` and ``q_hat = q * (1.0 / sq)`` (N, V), normalised
    as the core's kernels normalise (one reciprocal per row, then a multiply per token);
    ``drafts`` (N, k) int64; ``u`` (N, k + 1) float64. ``shared`` is true when ``p`` and
    ``q`` were each given as one row (every row then has the same target and draft).
    """

    p: torch.Tensor
    q: torch.Tensor
    sp: torch.Tensor
    sq: torch.Tensor
    p_hat: torch.Tensor
    q_hat: torch.Tensor
    drafts: torch.Tensor
    u: torch.Tensor
    shared: bool


# ---------------------------------------------------------------- host checks
def _tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    return x


def _prob_rows(x, name: str) -> torch.Tensor:
    """A 2-D real tensor, upcast to float64 (values are checked later, on device)."""
    x = _tensor(x, name)
    if x.dtype == torch.bool or x.is_complex() or not (x.is_floating_point() or _is_integer(x)):
        raise TypeError(f"{name} must hold real numbers (float or int); got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (rows, V); got shape {tuple(x.shape)} (use {name}[None] for one row)"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); it needs at least one token")
    return x.to(torch.float64)


def _is_integer(x: torch.Tensor) -> bool:
    return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool


def _token_rows(drafts, device: torch.device) -> torch.Tensor:
    drafts = _tensor(drafts, "drafts")
    if not _is_integer(drafts):
        raise TypeError(f"drafts must hold integer token ids; got dtype {drafts.dtype}")
    if drafts.ndim != 2:
        raise ValueError(f"drafts must be 2-D (N, k); got shape {tuple(drafts.shape)}")
    if drafts.shape[0] == 0 or drafts.shape[1] == 0:
        raise ValueError(f"drafts is empty (shape {tuple(drafts.shape)}); give at least one draft token")
    if drafts.device != device:
        raise ValueError(f"drafts is on {drafts.device} but p and q are on {device}")
    return drafts.to(torch.int64)


def _uniforms(generator, uniforms, shape: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, bool]:
    """The uniforms a call consumes and whether the caller passed them (then they need a
    range check). Exactly one of ``generator`` / ``uniforms`` must be given."""
    if (generator is None) == (uniforms is None):
        raise TypeError(
            "pass exactly one of generator= (a torch.Generator) and uniforms= (an array)"
        )
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)); "
                f"got {type(generator).__name__}"
            )
        if generator.device.type != device.type:
            raise ValueError(f"generator is on {generator.device} but the tensors are on {device}")
        return torch.rand(shape, generator=generator, dtype=torch.float64, device=device), False
    u = torch.as_tensor(uniforms)
    if not u.is_floating_point():
        raise TypeError(f"uniforms must be a float array; got dtype {u.dtype}")
    if tuple(u.shape) != shape:
        raise ValueError(f"uniforms must have shape {shape}; got {tuple(u.shape)}")
    return u.to(device=device, dtype=torch.float64), True


# ---------------------------------------------------------------- value checks
def _bad_probs(x: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
    """True (0-d) if a row of ``x`` has a NaN, infinite or negative entry, or if its row sum
    (``sums``, in the lane order of the core's scan) is not within PROB_SUM_TOL of 1."""
    bad_entry = (~torch.isfinite(x) | (x < 0.0)).any()
    off = (~((sums - 1.0).abs() <= PROB_SUM_TOL)).any()
    return bad_entry | off


def _bad_uniforms(u: torch.Tensor) -> torch.Tensor:
    return (~((u >= 0.0) & (u < 1.0))).any()


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu").numpy()


def _failed(flags: list[torch.Tensor]) -> bool:
    """Combine 0-d flags on device and read them back: the call's one synchronisation."""
    return bool(torch.stack(flags).any().item())


def _replay_in_core(call: Callable[[], object], what: str) -> None:
    """Run the core on CPU copies so that it raises its own message; it must raise."""
    call()
    raise RuntimeError(
        f"the torch value check rejected this {what} call but the numpy core accepted it; "
        "this is a bug in specsample.gpu"
    )


# ---------------------------------------------------------------- entry points
def prepare_draft(
    q, k, generator, uniforms, validate: bool, *, core: ModuleType, min_support: Callable[[int], int],
    max_k: int | str | None = "core",
) -> DraftCall:
    """Check a torch ``draft`` call against the contract of the core module ``core``
    (``max_k``: the largest k the torch port takes, by default the core's ``MAX_K``)."""
    q_raw = q
    q = _prob_rows(q, "q")
    k = core_api.check_k(k, core.NAME, core.MAX_K if max_k == "core" else max_k)
    u, given = _uniforms(generator, uniforms, (q.shape[0], k), q.device)
    if validate:
        flags = [_bad_probs(q, _sampling.lane_sums(q)), ((q > 0.0).sum(dim=-1) < min_support(k)).any()]
        if given:
            flags.append(_bad_uniforms(u))
        if _failed(flags):
            q_np = _numpy(q_raw.to(torch.float64) if q_raw.is_floating_point() else q_raw)
            _replay_in_core(lambda: core.draft(q_np, k, uniforms=_numpy(u)), "draft")
    return DraftCall(q=q, k=k, u=u)


def prepare_verify(
    p,
    q,
    drafts,
    generator,
    uniforms,
    validate: bool,
    *,
    core: ModuleType,
    tuple_rule: TupleRule | None = None,
    max_k: int | str | None = "core",
) -> VerifyCall:
    """Check a torch ``verify`` call against the contract of the core module ``core``
    (``max_k``: the largest k the torch port takes, by default the core's ``MAX_K``)."""
    p_raw, q_raw = p, q
    p = _prob_rows(p, "p")
    q = _prob_rows(q, "q")
    if p.device != q.device:
        raise ValueError(f"p is on {p.device} but q is on {q.device}")
    if p.shape[1] != q.shape[1]:
        raise ValueError(f"p has {p.shape[1]} tokens but q has {q.shape[1]}")
    d = _token_rows(drafts, p.device)
    rows, k = d.shape
    core_api.check_k(k, core.NAME, core.MAX_K if max_k == "core" else max_k)
    for name, arr in (("p", p), ("q", q)):
        if arr.shape[0] not in (1, rows):
            raise ValueError(f"{name} has {arr.shape[0]} rows but drafts has {rows} (give 1 or {rows})")
    u, given = _uniforms(generator, uniforms, (rows, k + 1), p.device)
    shared = p.shape[0] == 1 and q.shape[0] == 1
    sp = _sampling.lane_sums(p)  # on the 1 or N given rows, then expanded
    sq = _sampling.lane_sums(q)
    p_hat = p * _sampling.reciprocal(sp)[:, None]
    q_hat = q * _sampling.reciprocal(sq)[:, None]
    vocab = p.shape[1]
    p, sp, p_hat = p.expand(rows, vocab), sp.expand(rows), p_hat.expand(rows, vocab)
    q, sq, q_hat = q.expand(rows, vocab), sq.expand(rows), q_hat.expand(rows, vocab)
    if validate:
        in_range = (d >= 0) & (d < vocab)
        drafted = torch.gather(q, 1, d.clamp(0, vocab - 1))
        flags = [_bad_probs(p, sp), _bad_probs(q, sq), (~in_range).any(), (drafted <= 0.0).any()]
        if tuple_rule is not None:
            flags.append(tuple_rule(q, d).any())
        if given:
            flags.append(_bad_uniforms(u))
        if _failed(flags):
            arrays = [
                _numpy(x.to(torch.float64) if x.is_floating_point() else x) for x in (p_raw, q_raw)
            ]
            _replay_in_core(
                lambda: core.verify(arrays[0], arrays[1], _numpy(d), uniforms=_numpy(u)), "verify"
            )
    return VerifyCall(p=p, q=q, sp=sp, sq=sq, p_hat=p_hat, q_hat=q_hat, drafts=d, u=u, shared=shared)
