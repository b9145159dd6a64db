"""The torch backend on a CUDA device (skipped where torch sees none, as in CI).

The other torch tests run on the CPU. These repeat the claims that could change on a GPU:
the torch verifiers against the numpy core on shared uniforms (CUDA's cumsum is a parallel
scan, so sums may differ from the core's in the last bit; with random uniforms a token
should then still never flip, and the test counts any that do), their output law when they
draw their own uniforms from a CUDA generator, low-precision inputs, and the decode loop and
Jacobi with the models on the GPU: greedy equals the target's own ``generate``, sampling
follows the target's two-token law, the torch and core verifier paths agree; and the
``specsample decode --device cuda`` command end to end.

Run on a machine with a GPU: ``python -m pytest tests/gpu/test_gpu_cuda.py``. Statistical
tests have a false-alarm budget of 1e-6 each.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

from _gpu_models import (  # noqa: E402
    PROMPT,
    greedy_reference,
    noisy_copy,
    target_and_draft,
    tiny_lm,
    two_token_law,
)
from test_gpu_verify_parity import KS, _instances, _supported  # noqa: E402

import specsample  # noqa: E402
from specsample import gpu  # noqa: E402
from specsample.testing import assert_follows  # noqa: E402

BUDGET = 1e-6
CUDA = torch.device("cuda")


def _on_cuda(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(a).to(CUDA) for a in arrays]


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
@pytest.mark.parametrize("vocab", [5, 33, 4099])
def test_cuda_verifiers_match_core_on_shared_uniforms(name, vocab):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng([vocab, len(name), 90])
    for k in KS[name]:
        p, q = _instances(rng, 300, vocab)
        keep = _supported(q, k, name)
        p, q = p[keep], q[keep]
        ud, uv = rng.random((p.shape[0], k)), rng.random((p.shape[0], k + 1))
        drafts = core.draft(q, k, uniforms=ud)
        (q_t, ud_t) = _on_cuda(q, ud)
        np.testing.assert_array_equal(torch_scheme.draft(q_t, k, uniforms=ud_t).cpu().numpy(), drafts)
        expected = core.verify(p, q, drafts, uniforms=uv)
        got = torch_scheme.verify(*_on_cuda(p, q, drafts), uniforms=torch.from_numpy(uv).to(CUDA))
        assert got.token.device.type == "cuda"
        np.testing.assert_array_equal(got.token.cpu().numpy(), expected.token)
        np.testing.assert_array_equal(got.index.cpu().numpy(), expected.index)


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_low_precision_inputs_are_upcast(name, dtype):
    """Dyadic rows are exact in every dtype: bf16/float32 on the GPU == core on float64."""
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng(17)
    k = max(KS[name][:2])
    p = rng.multinomial(64, rng.dirichlet(np.full(8, 0.5)), size=300) / 64.0
    q = rng.multinomial(64, rng.dirichlet(np.full(8, 0.5)), size=300) / 64.0
    keep = _supported(q, k, name)
    p, q = p[keep], q[keep]
    drafts = core.draft(q, k, uniforms=rng.random((p.shape[0], k)))
    uv = rng.random((p.shape[0], k + 1))
    expected = core.verify(p, q, drafts, uniforms=uv)
    p_t, q_t, d_t, u_t = _on_cuda(p, q, drafts, uv)
    got = torch_scheme.verify(p_t.to(dtype), q_t.to(dtype), d_t, uniforms=u_t)
    np.testing.assert_array_equal(got.token.cpu().numpy(), expected.token)


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_cuda_verifiers_with_a_cuda_generator_sample_the_target(name):
    """One (p, q) pair, 200000 rows verified in one call with uniforms from a CUDA generator:
    the output tokens follow p (G-test)."""
    torch_scheme = gpu.SCHEMES[name]
    k = max(KS[name][:2])
    p = np.array([0.30, 0.22, 0.18, 0.12, 0.10, 0.05, 0.03, 0.0])
    q = np.array([0.10, 0.30, 0.05, 0.25, 0.0, 0.12, 0.08, 0.10])
    n = 200_000
    g = torch.Generator(device=CUDA).manual_seed(zlib.crc32(name.encode()))
    p_t, q_t = _on_cuda(np.tile(p, (n, 1)), np.tile(q, (n, 1)))
    drafts = torch_scheme.draft(q_t, k, generator=g)
    verdict = torch_scheme.verify(p_t, q_t, drafts, generator=g)
    assert_follows(verdict.token.cpu().numpy(), p, budget=BUDGET)


def _cuda_pair(noise=0.05):
    target, draft = target_and_draft(noise=noise)
    return target.to(CUDA), draft.to(CUDA)


@pytest.mark.parametrize("scheme", ["single", "rrs", "rrsw", "spechub", "kseq"])
def test_cuda_greedy_decoding_reproduces_generate(scheme):
    target, draft = _cuda_pair()
    tree = "chain:3" if scheme == "single" else "binary:3"
    prompt = PROMPT.to(CUDA)
    expected = greedy_reference(target, prompt, 40)
    got = gpu.SpeculativeDecoder(target, draft, scheme=scheme, tree=tree).generate(prompt, max_new_tokens=40)
    assert got.tokens.tolist() == expected


def test_cuda_greedy_jacobi_reproduces_generate():
    model = tiny_lm(0).to(CUDA)
    prompt = PROMPT.to(CUDA)
    expected = greedy_reference(model, prompt, 40)
    assert gpu.jacobi_generate(model, prompt, block_size=8, max_new_tokens=40).tokens.tolist() == expected


@pytest.mark.parametrize(("scheme", "tree"), [("rrs", "binary:2"), ("spechub", "binary:2"), ("kseq", "kary:3:1")])
def test_cuda_sampling_first_two_tokens_follow_the_targets_law(scheme, tree):
    target = tiny_lm(0, vocab=8)
    draft = noisy_copy(target, 1, noise=0.1, extra_vocab=3)
    law = two_token_law(target, [3], 0.9)
    target, draft = target.to(CUDA), draft.to(CUDA)
    decoder = gpu.SpeculativeDecoder(target, draft, scheme=scheme, tree=tree)
    assert decoder.verifier == "torch"  # "auto" picks torch on a GPU
    g = torch.Generator(device=CUDA).manual_seed(zlib.crc32(f"cuda{scheme}{tree}".encode()))
    prompt = torch.tensor([3], device=CUDA)
    samples = [tuple(decoder.generate(prompt, max_new_tokens=2, temperature=0.9, generator=g).tokens.tolist())
               for _ in range(300)]
    assert_follows(samples, law, budget=BUDGET)


@pytest.mark.parametrize(("scheme", "tree"), [("rrsw", "binary:3"), ("spechub", "binary:2"), ("kseq", (2, 1, 2))],
                         ids=str)
def test_cuda_torch_and_core_verifiers_generate_the_same_tokens(scheme, tree):
    target, draft = _cuda_pair()
    out = {}
    for verifier in ("torch", "core"):
        decoder = gpu.SpeculativeDecoder(target, draft, scheme=scheme, tree=tree, verifier=verifier)
        result = decoder.generate(PROMPT.to(CUDA), max_new_tokens=30, temperature=0.8,
                                  generator=torch.Generator(device=CUDA).manual_seed(9))
        out[verifier] = result.tokens.tolist()
    assert out["torch"] == out["core"]


def test_cuda_decode_command_greedy_tokens_equal_ar_tokens(tmp_path, capsys):
    """``specsample decode --device cuda``: every method (each scheme on chain and binary
    trees through its torch port or the core, and Jacobi) returns AR's greedy tokens."""
    from cli_run import run_main
    from test_decode_cli import PAD, char_tokenizer, noisy_copy, save
    from test_decode_cli import tiny_lm as char_lm

    tokenizer = char_tokenizer()
    target = char_lm(len(tokenizer) + PAD, 0)
    draft = noisy_copy(target, 1)
    folders = [str(save(m, tokenizer, tmp_path / name)) for m, name in ((target, "t"), (draft, "d"))]
    out = tmp_path / "greedy.json"
    status, _, err = run_main(["decode", "--target", folders[0], "--draft", folders[1], "--device", "cuda",
                               "--dtype", "float64", "--no-progress", "--prompts", "2", "--max-new-tokens", "12",
                               "--tree", "chain:2,binary:2", "--format", "json", "-o", str(out)], capsys)
    assert status == 0, err
    data = json.loads(out.read_text())
    assert data["device"].startswith("cuda")
    ar = {r["prompt"]: r["tokens"] for r in data["runs"] if r["method"] == "ar"}
    others = [r for r in data["runs"] if r["method"] != "ar"]
    assert len(others) >= 2 * 5
    for run in others:
        assert run["tokens"] == ar[run["prompt"]], run["method"]
