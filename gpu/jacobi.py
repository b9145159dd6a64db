"""Jacobi decoding with CLLM-style fast-forward (THEORY.md section 9).

Santilli et al., arXiv 2305.10427; CLLM, Kou et al., arXiv 2403.00835.

A block of ``n`` guessed tokens ``y_1..y_n`` follows the committed sequence. One forward
over ``[last committed token, y_1..y_{n-1}]`` (ordinary causal mask, on top of the KV cache
of the committed prefix) gives the model's next-token distribution ``p_i`` at every block
position, each conditioned on the guesses before it.

Greedy (``temperature = 0``)
    ``g_i = argmax p_i``. Let ``m`` be the number of leading positions with ``y_i = g_i``:
    those guesses are the greedy tokens, and so is ``g_{m+1}``. The forward commits
    ``g_1..g_c`` with ``c = min(m + 1, n)`` ("fast-forward": more than one token when
    ``m > 0``), keeps the KV of the committed inputs, and the rest of the block continues
    from ``g_{c+1}..g_n``. When the block is used up a new block of guesses starts. After a
    fixed point the output is exactly the model's greedy decoding, with never more forwards
    than tokens.
Sampling (``temperature > 0``)
    Each guess is a deterministic draft (``q = δ_{y_i}``, THEORY.md section 1): ``y_1`` is
    accepted with probability ``p_1(y_1)``, then ``y_2`` with ``p_2(y_2)``, and so on; at the
    first rejection a token is drawn from ``p_i`` with ``y_i`` removed and renormalised, and the
    forward stops there. This is exact: a guess is fixed before the fresh uniforms that test
    it, and ``p_i`` is tested only when ``y_1..y_{i-1}`` were all accepted, i.e. when it is
    the model's distribution given the committed prefix. The next guesses are the argmax of
    ``p_i`` at the remaining positions (the greedy Jacobi update).

The guesses of a new block are ``n`` copies of the last committed token. CLLM checkpoints are
ordinary HF causal LMs: pass one as ``model``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from . import _hf
from .decode import (
    _Clock,
    _eos_set,
    _positive_int,
    _prompt,
    _temperature,
    resolve_verifier,
    verify_rows,
)


@dataclass(frozen=True)
class JacobiStats:
    """What a :func:`jacobi_generate` call did.

    Attributes
    ----------
    new_tokens : int
        Tokens returned.
    forwards : int
        Forwards over a Jacobi block (the prompt's prefill is not counted).
    blocks : int
        Blocks of guesses started.
    fast_forwarded : int
        Tokens committed beyond the first by the forward that committed them.
    stationary : int
        Committed tokens that were correct guesses and already held the same guess at the
        block's previous iteration, when a token before them was still wrong (CLLM's
        "stationary tokens").
    prefill_seconds, decode_seconds : float
        Wall time of the prompt prefill and of the Jacobi iterations.
    """

    new_tokens: int
    forwards: int
    blocks: int
    fast_forwarded: int
    stationary: int
    prefill_seconds: float
    decode_seconds: float

    @property
    def tokens_per_forward(self) -> float:
        """``new_tokens / forwards``."""
        return self.new_tokens / self.forwards


@dataclass(frozen=True)
class JacobiResult:
    """Generated tokens (int64, shape (new_tokens,), on CPU) and their :class:`JacobiStats`."""

    tokens: torch.Tensor
    stats: JacobiStats


@torch.inference_mode()
def jacobi_generate(
    model,
    input_ids: torch.Tensor,
    *,
    block_size: int = 16,
    max_new_tokens: int,
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    eos_token_id: int | Iterable[int] | None = None,
    verifier: str = "auto",
) -> JacobiResult:
    """Generate up to ``max_new_tokens`` tokens after ``input_ids`` by Jacobi iteration.

    Parameters
    ----------
    model : transformers causal LM
        Any HF causal LM with a plain ``DynamicCache`` (a CLLM checkpoint, or the target).
    input_ids : torch.Tensor
        The prompt, (L,) or (1, L) (batch size 1).
    block_size : int
        Guesses per block (CLLM uses 16).
    max_new_tokens : int
        Most tokens to generate.
    temperature : float
        0 is greedy; otherwise tokens follow the model's distribution at this temperature
        exactly (module docstring).
    generator : torch.Generator, optional
        All randomness in sampling mode (on the model's device); a fresh OS-seeded one when
        omitted.
    eos_token_id : int or iterable of int, optional
        Stop after any of these (included in the output); defaults to the model's
        ``generation_config.eos_token_id``; ``()`` never stops early.
    verifier : {"auto", "torch", "core"}
        Which single-draft verifier checks the guesses in sampling mode (as in
        :class:`~specsample.gpu.SpeculativeDecoder`: same tokens either way; ``"auto"``
        takes the numpy core on the CPU).
    """
    _hf.check_model(model, "model")
    block_size = _positive_int(block_size, "block_size")
    max_new_tokens = _positive_int(max_new_tokens, "max_new_tokens")
    temperature = _temperature(temperature)
    device = _hf.device_of(model)
    verifier = resolve_verifier(verifier, device)
    if temperature > 0.0 and generator is None:
        generator = torch.Generator(device=device)
        generator.seed()
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    eos = _eos_set(eos_token_id, model)
    vocab = int(model.get_output_embeddings().weight.shape[0])
    tokens = _prompt(input_ids, vocab)
    clock = _Clock(device)

    cache = _hf.new_cache(model, "model")
    if len(tokens) > 1:
        _hf.forward(model, torch.tensor(tokens[:-1], device=device), torch.arange(len(tokens) - 1, device=device), cache)
    prefill_seconds = clock.lap()

    out: list[int] = []
    forwards = blocks = fast_forwarded = stationary = 0
    done = False
    while not done:
        n = min(block_size, max_new_tokens - len(out))
        guess = [tokens[-1]] * n
        blocks += 1
        previous: dict[int, int] = {}  # absolute position -> guess there at the last iteration
        while guess and not done:
            n = len(guess)
            start = len(tokens) - 1  # position of the last committed token (the first input)
            logits = _hf.forward(
                model,
                torch.tensor([tokens[-1], *guess[:-1]], device=device),
                torch.arange(start, start + n, device=device),
                cache,
            )  # (n, V): row i predicts the token at position start + 1 + i
            forwards += 1
            if temperature == 0.0:
                best = torch.argmax(logits, dim=-1).tolist()
                agreed = _leading_matches(guess, best)
                commit = best[: min(agreed + 1, n)]
                following = best[len(commit):]
            else:
                commit, following, agreed = _verify_guesses(logits, guess, temperature, generator, verifier)
            fast_forwarded += len(commit) - 1
            stationary += sum(
                previous.get(start + 1 + i) == guess[i] for i in range(min(agreed, len(commit)))
            )
            previous = {start + 1 + i: g for i, g in enumerate(guess)}
            _hf.crop(cache, start + len(commit))  # keeps the inputs before the last commit
            for token in commit:
                tokens.append(token)
                out.append(token)
                if token in eos or len(out) == max_new_tokens:
                    done = True
                    break
            guess = following
    stats = JacobiStats(
        new_tokens=len(out),
        forwards=forwards,
        blocks=blocks,
        fast_forwarded=fast_forwarded,
        stationary=stationary,
        prefill_seconds=prefill_seconds,
        decode_seconds=clock.lap(),
    )
    return JacobiResult(torch.tensor(out, dtype=torch.int64), stats)


def _leading_matches(guess: list[int], best: list[int]) -> int:
    m = 0
    while m < len(guess) and guess[m] == best[m]:
        m += 1
    return m


def _verify_guesses(logits, guess, temperature, generator, verifier) -> tuple[list[int], list[int], int]:
    """Verify the guesses in order as deterministic drafts (one batched k = 1 call).

    Returns the committed tokens, the next guesses for the rest of the block, and the number
    of guesses accepted.
    """
    p = torch.softmax(logits.to(torch.float64) / temperature, dim=-1)  # (n, V)
    drafts = torch.tensor(guess, device=p.device)[:, None]  # (n, 1)
    point = torch.zeros_like(p).scatter_(1, drafts, 1.0)  # q = delta at each guess
    verdict = verify_rows("single", p, point, drafts, generator, verifier=verifier, validate=False)
    index = verdict.index.tolist()
    accepted = _leading_matches(index, [0] * len(index))
    if accepted == len(guess):
        commit = list(guess)
    else:
        commit = [*guess[:accepted], int(verdict.token[accepted])]
    following = torch.argmax(p[len(commit):], dim=-1).tolist()
    return commit, following, accepted
