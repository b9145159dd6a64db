"""Token-tree speculative decoding with a Hugging Face target and draft (THEORY.md section 8).

One step of :class:`SpeculativeDecoder`::

    draft:   one draft forward per tree level (all nodes of the level batched); at every
             internal node the scheme drafts its k children from q = draft distribution there
    target:  ONE forward over the whole tree: node i at position (prefix length + depth),
             attending to the prefix, its ancestors and itself (4-D tree mask)
    verify:  walk from the root; at a node run the scheme on its children with p = target
             and q = draft distribution at that node; on acceptance move to the child, on
             rejection emit the residual sample and stop; at a leaf emit a bonus token ~ p
    KV:      both caches keep the accepted path and drop every other tree node

The tree's root is the last committed token (:mod:`specsample.gpu.tree`), so the caches
always hold every committed token but the last, and a step emits between 1 and
``depth + 1`` tokens. Every internal node gets fresh uniforms; with the torch verifiers all
internal nodes are verified in one batched call per distinct ``k`` (no host round trip per
node; the walk then reads the verdicts along one path, so verdicts off the path are never
used and exactness is that of the scheme at each node: THEORY.md section 8). The core
verifiers draw the same uniforms but verify only the nodes the walk reaches, one by one:
the same tokens, without building the optimal verifiers' tables for nodes off the path.
Probabilities are formed in float64 from the logits.

Greedy mode (``temperature=0``): the children of a node are the draft's top-``k`` tokens
(distinct, in order) and a child is accepted iff it equals the target's argmax at the node;
otherwise the target's argmax is emitted. The output is then the target's own greedy
decoding whatever the tree and scheme (the scheme only matters when sampling).

Without replacement schemes (RRSw, SpecHub with ``k = 2``) need ``k`` tokens with
``q > 0``. A float64 softmax can underflow to a one-token support at low temperature, so for
those schemes the draft distribution used for BOTH drafting and verification is
``(1 - DRAFT_FLOOR) q + DRAFT_FLOOR / V``. Any draft distribution gives an exact verifier,
so this changes acceptance by at most ``DRAFT_FLOOR`` and exactness not at all.

Vocabularies. Distributions live on the target's logits width ``V``; the draft's logits are
sliced, or padded with probability 0, to ``V``. A token the draft cannot embed (an id past
its embedding table, possible when its padded vocabulary is narrower than the target's) is
shown to the draft as token 0. That only changes what the draft proposes, never the output
law, since the verifiers are exact for any draft distribution.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

import specsample
from specsample.scheme import Verdict

from . import _hf, _sampling
from .schemes import SCHEMES
from .tree import Tree

#: Uniform mass mixed into the draft distribution of without-replacement schemes.
DRAFT_FLOOR = 2.0**-40

#: Implementations that can draft and verify inside the loop (see SpeculativeDecoder).
VERIFIERS = ("auto", "torch", "core")


@dataclass(frozen=True)
class DecodeStats:
    """What a :meth:`SpeculativeDecoder.generate` call did.

    Attributes
    ----------
    new_tokens : int
        Tokens returned.
    steps : int
        Target forwards over a tree (the prompt's prefill is not counted).
    accepted_lengths : tuple of int
        ``accepted_lengths[j]`` = steps that accepted exactly ``j`` drafts, ``j = 0..depth``.
    depth_attempts, depth_accepts : tuple of int
        ``depth_attempts[j]`` = steps whose walk verified the children of a node at depth
        ``j``; ``depth_accepts[j]`` = those that accepted one of them.
    draft_forwards, target_forwards : int
        Model forwards, prefill included.
    prefill_seconds, draft_seconds, target_seconds, verify_seconds : float
        Wall time of the prompt prefill (both models), of drafting (draft forwards and
        draft sampling), of the target's tree forwards, and of verification (target
        probabilities, verifiers, the walk and the cache update). On CUDA the device is
        synchronised at each boundary so that the split is real.
    """

    new_tokens: int
    steps: int
    accepted_lengths: tuple[int, ...]
    depth_attempts: tuple[int, ...]
    depth_accepts: tuple[int, ...]
    draft_forwards: int
    target_forwards: int
    prefill_seconds: float
    draft_seconds: float
    target_seconds: float
    verify_seconds: float

    @property
    def block_efficiency(self) -> float:
        """Tokens per target tree forward: ``new_tokens / steps``."""
        return self.new_tokens / self.steps

    @property
    def depth_acceptance(self) -> tuple[float | None, ...]:
        """``depth_accepts[j] / depth_attempts[j]`` (``None`` where nothing was attempted)."""
        return tuple(
            a / n if n else None for a, n in zip(self.depth_accepts, self.depth_attempts, strict=True)
        )


@dataclass(frozen=True)
class DecodeResult:
    """Generated tokens (int64, shape (new_tokens,), on CPU) and their :class:`DecodeStats`."""

    tokens: torch.Tensor
    stats: DecodeStats


@dataclass
class DecodeState:
    """Mutable state of one generation (see :meth:`SpeculativeDecoder.prefill`).

    ``tokens`` are all committed tokens, prompt included. The target cache holds the first
    ``len(tokens) - 1`` of them; the draft cache the first ``draft_length``
    (``draft_length <= len(tokens) - 1``: a path that ends at a leaf was never fed to the
    draft, and the next step's first draft forward catches up).
    """

    tokens: list[int]
    target_cache: object
    draft_cache: object
    draft_length: int
    tally: _Tally = field(repr=False)


@dataclass
class _Tally:
    depth: int
    steps: int = 0
    draft_forwards: int = 0
    target_forwards: int = 0
    prefill_seconds: float = 0.0
    draft_seconds: float = 0.0
    target_seconds: float = 0.0
    verify_seconds: float = 0.0
    accepted: list[int] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    accepts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.accepted = [0] * (self.depth + 1)
        self.attempts = [0] * self.depth
        self.accepts = [0] * self.depth

    def freeze(self, new_tokens: int) -> DecodeStats:
        return DecodeStats(
            new_tokens=new_tokens,
            steps=self.steps,
            accepted_lengths=tuple(self.accepted),
            depth_attempts=tuple(self.attempts),
            depth_accepts=tuple(self.accepts),
            draft_forwards=self.draft_forwards,
            target_forwards=self.target_forwards,
            prefill_seconds=self.prefill_seconds,
            draft_seconds=self.draft_seconds,
            target_seconds=self.target_seconds,
            verify_seconds=self.verify_seconds,
        )


class _Clock:
    """Wall time between marks; synchronises CUDA devices so that each mark is real."""

    def __init__(self, *devices: torch.device):
        self._cuda = [d for d in devices if d.type == "cuda"]
        self._last = self._now()

    def _now(self) -> float:
        for d in self._cuda:
            torch.cuda.synchronize(d)
        return time.perf_counter()

    def lap(self) -> float:
        now = self._now()
        spent, self._last = now - self._last, now
        return spent


@dataclass(frozen=True)
class _Plan:
    """Index sets of a tree, computed once per decoder (host lists and device tensors)."""

    internal: tuple[int, ...]  # nodes with children, increasing: the order they are fed to the draft
    rank: dict[int, int]  # internal node -> its row in the per-step q table / draft cache
    leaves: tuple[int, ...]
    levels: tuple[tuple[int, ...], ...]  # internal nodes of each depth
    groups: tuple[tuple[int, tuple[int, ...]], ...]  # (k, internal nodes with k children)
    visible: torch.Tensor  # (n, n) bool: node i sees node j (ancestor or itself)
    fed_visible: torch.Tensor  # (I, I) the same among internal nodes, by rank


def _plan(tree: Tree) -> _Plan:
    internal = tuple(i for i in range(tree.size) if tree.children[i])
    levels = tuple(
        tuple(i for i in level if tree.children[i]) for level in tree.levels[: tree.depth]
    )
    ks = sorted({len(tree.children[i]) for i in internal})
    visible = tree.ancestors_mask()
    groups = tuple((k, tuple(i for i in internal if len(tree.children[i]) == k)) for k in ks)
    return _Plan(
        internal=internal,
        rank={node: r for r, node in enumerate(internal)},
        leaves=tuple(i for i in range(tree.size) if not tree.children[i]),
        levels=levels,
        groups=groups,
        visible=visible,
        fed_visible=visible[list(internal)][:, list(internal)],
    )


class SpeculativeDecoder:
    """Speculative decoding of a target causal LM with a draft LM and a token tree.

    Parameters
    ----------
    target, draft : transformers causal LMs
        Sharing a tokenizer. Their logits may differ in width (padded vocabularies): the
        draft's are sliced or padded with probability 0 to the target's width. Attention
        must be ``"sdpa"`` or ``"eager"`` (a custom 4-D mask is needed) and the caches
        plain ``DynamicCache`` layers.
    scheme : str
        With ``verifier="torch"``, a key of :data:`specsample.gpu.SCHEMES` (the torch ports:
        ``single``, ``rrs``, ``rrsw``, ``spechub`` for k <= 2, ``kseq``); with ``"core"``, any
        key of :data:`specsample.SCHEMES`. Nodes with one child use the scheme with ``k = 1``.
    tree : str, sequence of int, or Tree
        ``"chain:d"``, ``"binary:d"``, ``"kary:k:d"``, children per level, or a
        :class:`~specsample.gpu.tree.Tree`. The root is the last committed token.
    verifier : {"auto", "torch", "core"}
        Which implementation drafts and verifies. ``"torch"``: :data:`specsample.gpu.SCHEMES`
        on the target's device. ``"core"``: the numpy core's numba kernels on host copies
        (:data:`specsample.SCHEMES`), fed the uniforms the torch path would draw from the
        same generator, so both give the same tokens (the verifiers' parity tests). ``"auto"``
        (default) takes ``"core"`` when the target is on the CPU, where the compiled kernels
        are several times faster than torch's full-vocabulary passes, else ``"torch"``.
    validate : bool
        Run the torch verifiers' value checks every step (one extra synchronisation per
        call). Off by default: the probabilities are float64 softmax outputs, valid by
        construction. The core path always checks its inputs.

    Only batch size 1 is supported.
    """

    def __init__(
        self,
        target,
        draft,
        *,
        scheme: str = "spechub",
        tree="binary:3",
        verifier: str = "auto",
        validate: bool = False,
    ):
        _hf.check_model(target, "target")
        _hf.check_model(draft, "draft")
        self.verifier = resolve_verifier(verifier, _hf.device_of(target))
        if self.verifier == "torch":
            if scheme not in SCHEMES:
                raise ValueError(
                    f"scheme must be one of {sorted(SCHEMES)} with verifier='torch' (the torch "
                    f"ports); got {scheme!r}; verifier='core' runs every scheme in "
                    "specsample.SCHEMES"
                )
            limits = SCHEMES[scheme]
            max_k, min_support = limits.MAX_K, limits.min_support
        else:
            if scheme not in specsample.SCHEMES:
                raise ValueError(f"scheme must be one of {sorted(specsample.SCHEMES)}; got {scheme!r}")
            limits = specsample.SCHEMES[scheme]
            max_k, min_support = limits.MAX_K, limits._min_support  # the core's own limits
        self.target = target
        self.draft = draft
        self.scheme_name = scheme
        self.tree = Tree.parse(tree)
        if self.tree.depth < 1:
            raise ValueError("tree must have at least one level of drafts")
        if max_k is not None and self.tree.max_children > max_k:
            raise ValueError(
                f"scheme {scheme!r} takes at most k={max_k} drafts per node"
                + (" in its torch port" if self.verifier == "torch" else "")
                + f", but the tree has a node with {self.tree.max_children} children"
            )
        self.validate = bool(validate)
        self._plan = _plan(self.tree)
        self._floor = any(min_support(k) > 1 for k, _ in self._plan.groups)
        self._draft_inputs = int(draft.get_input_embeddings().weight.shape[0])

    # ------------------------------------------------------------ public API
    @torch.inference_mode()
    def generate(
        self,
        input_ids: torch.Tensor,
        *,
        max_new_tokens: int,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        eos_token_id: int | Iterable[int] | None = None,
    ) -> DecodeResult:
        """Generate up to ``max_new_tokens`` tokens after the prompt ``input_ids``.

        ``input_ids`` is (L,) or (1, L). ``temperature=0`` is greedy; otherwise tokens follow
        the target's distribution at that temperature exactly. ``generator`` (a
        ``torch.Generator`` on the target's device) supplies all randomness; when omitted in
        sampling mode a fresh one is seeded from the OS. ``eos_token_id`` defaults to the
        target's ``generation_config.eos_token_id``; pass ``()`` to never stop early.
        Generation stops after an EOS token (included in the output).
        """
        max_new_tokens = _positive_int(max_new_tokens, "max_new_tokens")
        temperature = _temperature(temperature)
        generator = self._generator(generator, temperature)
        eos = _eos_set(eos_token_id, self.target)
        state = self.prefill(input_ids)
        out: list[int] = []
        while len(out) < max_new_tokens and not (out and out[-1] in eos):
            for token in self.step(state, temperature=temperature, generator=generator):
                out.append(token)
                if token in eos or len(out) == max_new_tokens:
                    break
        return DecodeResult(torch.tensor(out, dtype=torch.int64), state.tally.freeze(len(out)))

    @torch.inference_mode()
    def prefill(self, input_ids: torch.Tensor) -> DecodeState:
        """Run both models over all prompt tokens but the last; return the decode state."""
        tokens = _prompt(input_ids, self._vocab())
        tally = _Tally(depth=self.tree.depth)
        clock = _Clock(_hf.device_of(self.target), _hf.device_of(self.draft))
        target_cache = _hf.new_cache(self.target, "target")
        draft_cache = _hf.new_cache(self.draft, "draft")
        if len(tokens) > 1:
            for model, cache in ((self.target, target_cache), (self.draft, draft_cache)):
                device = _hf.device_of(model)
                ids = torch.tensor(tokens[:-1], device=device)
                if model is self.draft:
                    ids = self._draft_view(ids)
                _hf.forward(model, ids, torch.arange(len(tokens) - 1, device=device), cache)
            tally.target_forwards += 1
            tally.draft_forwards += 1
        tally.prefill_seconds += clock.lap()
        return DecodeState(tokens, target_cache, draft_cache, len(tokens) - 1, tally)

    @torch.inference_mode()
    def step(self, state: DecodeState, *, temperature: float, generator: torch.Generator | None) -> list[int]:
        """One draft-tree / target-forward / verify step; returns the tokens it commits.

        The tokens are also appended to ``state.tokens`` and both caches updated. Cache
        layout during a step: target = committed prefix, then every tree node by index;
        draft = committed prefix, then the internal nodes (root first) as they are fed.
        """
        tree, plan = self.tree, self._plan
        greedy = temperature == 0.0
        device = _hf.device_of(self.target)
        draft_device = _hf.device_of(self.draft)
        vocab = self._vocab()
        tally = state.tally
        clock = _Clock(device, draft_device)
        prefix = len(state.tokens) - 1  # target cache length; the root sits at this position

        # ---- draft: one forward per level, drafting each level's children from it
        node_tokens = torch.empty(tree.size, dtype=torch.int64, device=device)
        node_tokens[0] = state.tokens[-1]
        draft_rows = torch.empty((len(plan.internal), vocab), dtype=torch.float64, device=device)
        pending = state.tokens[state.draft_length:]  # committed, not yet in the draft cache
        logits = _hf.forward(
            self.draft,
            self._draft_view(torch.tensor(pending, device=draft_device)),
            torch.arange(state.draft_length, len(state.tokens), device=draft_device),
            state.draft_cache,
        )[-1:]
        tally.draft_forwards += 1
        for depth, level in enumerate(plan.levels):
            if depth > 0:
                rows = [plan.rank[i] for i in level]
                seen = rows[-1] + 1  # internal nodes fed so far, these included
                visible = torch.cat(
                    [torch.ones((len(rows), prefix), dtype=torch.bool), plan.fed_visible[rows, :seen]], dim=1
                )
                logits = _hf.forward(
                    self.draft,
                    self._draft_view(node_tokens[list(level)].to(draft_device)),
                    torch.full((len(level),), prefix + depth, device=draft_device),
                    state.draft_cache,
                    visible.to(draft_device),
                )
                tally.draft_forwards += 1
            logits = _hf.match_vocab(logits.to(device), vocab)  # (len(level), V)
            self._draft_children(level, logits, node_tokens, draft_rows, temperature, generator)
        tally.draft_seconds += clock.lap()

        # ---- target: one forward over the whole tree
        depths = torch.tensor(tree.depths, device=device)
        visible = torch.cat([torch.ones((tree.size, prefix), dtype=torch.bool), plan.visible], dim=1)
        target_logits = _hf.forward(
            self.target, node_tokens, prefix + depths, state.target_cache, visible.to(device)
        )  # (n, V)
        tally.target_forwards += 1
        tally.steps += 1
        tally.target_seconds += clock.lap()

        # ---- verify: all internal nodes batched, then walk one path on the host
        if greedy:
            path, new = self._walk_greedy(node_tokens, target_logits)
        else:
            path, new = self._walk_sampled(node_tokens, target_logits, draft_rows, temperature, generator)
        for depth in range(min(len(path) + 1, tree.depth)):
            node = path[depth - 1] if depth else 0
            if tree.children[node]:
                tally.attempts[depth] += 1
                tally.accepts[depth] += depth < len(path)
        tally.accepted[len(path)] += 1

        kept_nodes = torch.tensor([0, *path])  # target cache: prefix, then nodes by index
        _hf.keep_positions(state.target_cache, torch.cat([torch.arange(prefix), prefix + kept_nodes]).to(device))
        fed = [0, *(n for n in path if tree.children[n])]  # the root and the path's internal nodes
        kept_rows = torch.tensor([plan.rank[n] for n in fed])  # draft cache: prefix, then by rank
        _hf.keep_positions(state.draft_cache, torch.cat([torch.arange(prefix), prefix + kept_rows]).to(draft_device))
        state.draft_length = prefix + len(fed)
        state.tokens.extend(new)
        tally.verify_seconds += clock.lap()
        return new

    # ------------------------------------------------------------ pieces of a step
    def _draft_children(self, level, logits, node_tokens, draft_rows, temperature, generator) -> None:
        """Draft the children of the internal nodes ``level`` from their draft ``logits``."""
        tree, plan = self.tree, self._plan
        if temperature == 0.0:
            scores = logits
        else:
            q = torch.softmax(logits.to(torch.float64) / temperature, dim=-1)
            if self._floor:
                q = (1.0 - DRAFT_FLOOR) * q + DRAFT_FLOOR / q.shape[-1]
            draft_rows[[plan.rank[i] for i in level]] = q
        for k in sorted({len(tree.children[i]) for i in level}):
            members = [r for r, i in enumerate(level) if len(tree.children[i]) == k]
            kids = [c for r in members for c in tree.children[level[r]]]
            if temperature == 0.0:
                drafts = torch.topk(scores[members], k, dim=-1).indices  # (m, k), distinct
            else:
                drafts = self._draft_rows(q[members], k, generator)
            node_tokens[kids] = drafts.reshape(-1)

    def _walk_greedy(self, node_tokens, target_logits) -> tuple[list[int], list[int]]:
        """Accepted path (node ids) and the tokens it commits, the last one the target's."""
        best = torch.argmax(target_logits, dim=-1).tolist()  # first argmax, as HF greedy
        tokens = node_tokens.tolist()
        node, path = 0, []
        while self.tree.children[node]:
            match = [c for c in self.tree.children[node] if tokens[c] == best[node]]
            if not match:
                break
            node = match[0]
            path.append(node)
        return path, [tokens[n] for n in path] + [best[node]]

    def _walk_sampled(self, node_tokens, target_logits, draft_rows, temperature, generator):
        tree, plan = self.tree, self._plan
        p = torch.softmax(target_logits.to(torch.float64) / temperature, dim=-1)  # (n, V)
        if self.verifier == "core" and self._lazy_core:
            return self._walk_sampled_core(node_tokens, p, draft_rows, generator)
        verdicts = {}
        for k, nodes in plan.groups:
            rows = [plan.rank[i] for i in nodes]
            kids = torch.tensor([list(tree.children[i]) for i in nodes], device=p.device)  # (m, k)
            v = self._verify_rows(p[list(nodes)], draft_rows[rows], node_tokens[kids], generator)
            verdicts[k] = (nodes, v.token, v.index)
        leaves = list(plan.leaves)
        u = torch.rand(len(leaves), generator=generator, dtype=torch.float64, device=p.device)
        bonus = _sampling.invert(p[leaves], u)
        # one transfer to the host for the whole step
        flat = torch.cat([torch.cat([t, i]) for _, t, i in verdicts.values()] + [bonus]).tolist()
        token_of, index_of, at = {}, {}, 0
        for nodes, _, _ in verdicts.values():
            m = len(nodes)
            for r, node in enumerate(nodes):
                token_of[node], index_of[node] = flat[at + r], flat[at + m + r]
            at += 2 * m
        for r, leaf in enumerate(leaves):
            token_of[leaf] = flat[at + r]
        node, path, new = 0, [], []
        while tree.children[node] and index_of[node] >= 0:
            new.append(token_of[node])  # the accepted child's token
            node = tree.children[node][index_of[node]]
            path.append(node)
        return path, [*new, token_of[node]]  # residual sample, or the bonus at a leaf

    #: With verifier="core", verify only the nodes the walk reaches (same tokens, see below).
    _lazy_core = True

    def _walk_sampled_core(self, node_tokens, p, draft_rows, generator):
        """:meth:`_walk_sampled` for the core verifiers, verifying only the nodes the walk
        reaches. The generator is consumed exactly as there (each group's uniforms in turn,
        then the leaves'), and a node's verdict depends only on its own rows, drafts and
        uniforms (the core's batched kernels equal its one-row path), so the tokens are the
        same; nodes off the path are never verified, which matters for the optimal verifiers,
        whose every verification builds a table over the vocabulary, and only the reached
        leaf's bonus token is drawn (the others' uniforms are drawn and left unused)."""
        tree, plan = self.tree, self._plan
        scheme = specsample.SCHEMES[self.scheme_name]
        uniforms = {}
        for k, nodes in plan.groups:
            u = _host(torch.rand((len(nodes), k + 1), generator=generator, dtype=torch.float64, device=p.device))
            for r, node in enumerate(nodes):
                uniforms[node] = u[r:r + 1]
        leaves = list(plan.leaves)
        u_leaf = torch.rand(len(leaves), generator=generator, dtype=torch.float64, device=p.device)
        tokens = node_tokens.tolist()
        node, path, new = 0, [], []
        while tree.children[node]:
            kids = tree.children[node]
            rank = plan.rank[node]
            v = scheme.verify(_host(p[node:node + 1]), _host(draft_rows[rank:rank + 1]),
                              np.array([[tokens[c] for c in kids]], dtype=np.int64), uniforms=uniforms[node])
            token, index = int(v.token[0]), int(v.index[0])
            new.append(token)  # the accepted child's token, or the residual sample
            if index < 0:
                return path, new
            node = kids[index]
            path.append(node)
        leaf = leaves.index(node)  # only the reached leaf's bonus token is drawn (row-wise
        bonus = _sampling.invert(p[node:node + 1], u_leaf[leaf:leaf + 1])  # as in the batch)
        return path, [*new, int(bonus[0])]

    def _draft_rows(self, q: torch.Tensor, k: int, generator) -> torch.Tensor:
        return draft_rows(self.scheme_name, q, k, generator, verifier=self.verifier, validate=self.validate)

    def _verify_rows(self, p, q, drafts, generator) -> Verdict:
        return verify_rows(self.scheme_name, p, q, drafts, generator, verifier=self.verifier, validate=self.validate)

    # ------------------------------------------------------------ helpers
    def _draft_view(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens as the draft reads them: ids beyond its embedding table become 0."""
        return torch.where(tokens < self._draft_inputs, tokens, 0)

    def _vocab(self) -> int:
        return int(self.target.get_output_embeddings().weight.shape[0])

    def _generator(self, generator, temperature: float) -> torch.Generator | None:
        if generator is None:
            if temperature == 0.0:
                return None
            generator = torch.Generator(device=_hf.device_of(self.target))
            generator.seed()
            return generator
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
        return generator


def resolve_verifier(verifier: str, device: torch.device) -> str:
    """``"auto"`` -> ``"core"`` on the CPU, ``"torch"`` elsewhere; checks the name."""
    if verifier not in VERIFIERS:
        raise ValueError(f"verifier must be one of {VERIFIERS}; got {verifier!r}")
    if verifier == "auto":
        return "core" if device.type == "cpu" else "torch"
    return verifier


def draft_rows(scheme: str, q: torch.Tensor, k: int, generator, *, verifier: str, validate: bool) -> torch.Tensor:
    """The scheme's drafts (m, k) for the rows of ``q`` (m, V), by ``verifier`` ("torch" or
    "core"). Both consume ``torch.rand((m, k), generator=generator, dtype=float64)``."""
    if verifier == "torch":
        return SCHEMES[scheme].draft(q, k, generator=generator, validate=validate)
    u = torch.rand((q.shape[0], k), generator=generator, dtype=torch.float64, device=q.device)
    drafts = specsample.SCHEMES[scheme].draft(_host(q), k, uniforms=_host(u))
    return torch.from_numpy(drafts).to(q.device)


def verify_rows(scheme: str, p, q, drafts, generator, *, verifier: str, validate: bool) -> Verdict:
    """The scheme's verdicts for rows of ``p``, ``q`` (m, V) and ``drafts`` (m, k), by
    ``verifier``. Both consume ``torch.rand((m, k + 1), generator=generator, dtype=float64)``."""
    if verifier == "torch":
        return SCHEMES[scheme].verify(p, q, drafts, generator=generator, validate=validate)
    u = torch.rand((drafts.shape[0], drafts.shape[1] + 1), generator=generator, dtype=torch.float64,
                   device=p.device)
    v = specsample.SCHEMES[scheme].verify(_host(p), _host(q), _host(drafts), uniforms=_host(u))
    return Verdict(torch.from_numpy(v.token).to(p.device), torch.from_numpy(v.index).to(p.device))


def _host(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu").numpy()


# ---------------------------------------------------------------- argument checks
def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return int(value)


def _temperature(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"temperature must be a real number; got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"temperature must be finite and >= 0 (0 is greedy); got {value}")
    return value


def _prompt(input_ids, vocab: int) -> list[int]:
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor of token ids; got {type(input_ids).__name__}")
    if input_ids.dtype == torch.bool or input_ids.is_floating_point() or input_ids.is_complex():
        raise TypeError(f"input_ids must hold integer token ids; got dtype {input_ids.dtype}")
    if input_ids.ndim == 2 and input_ids.shape[0] == 1:
        input_ids = input_ids[0]
    if input_ids.ndim != 1:
        raise ValueError(f"input_ids must be (L,) or (1, L) (batch size 1); got shape {tuple(input_ids.shape)}")
    if input_ids.numel() == 0:
        raise ValueError("input_ids is empty; give at least one prompt token")
    tokens = [int(t) for t in input_ids.tolist()]
    bad = [t for t in tokens if not 0 <= t < vocab]
    if bad:
        raise ValueError(f"input_ids holds token {bad[0]}, outside [0, {vocab})")
    return tokens


def _eos_set(eos_token_id, model) -> frozenset[int]:
    if eos_token_id is None:
        eos_token_id = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos_token_id is None:
        return frozenset()
    if isinstance(eos_token_id, numbers.Integral):
        return frozenset([int(eos_token_id)])
    return frozenset(int(t) for t in eos_token_id)
