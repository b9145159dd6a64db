"""Bad input to the torch verifiers raises as in the core: the same exception type and, for
bad values, the very message the numpy core gives (the torch check replays the call through
the core). Host-side mistakes (types, shapes, devices) get torch-specific messages that name
the argument."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import specsample  # noqa: E402
from specsample import gpu  # noqa: E402

P = np.array([[0.5, 0.25, 0.25, 0.0], [0.1, 0.2, 0.3, 0.4]])
Q = np.array([[0.25, 0.25, 0.5, 0.0], [0.4, 0.3, 0.2, 0.1]])
K = {"single": 1, "rrs": 2, "rrsw": 2, "spechub": 2, "kseq": 2}


def _drafts(name):
    return specsample.SCHEMES[name].draft(Q, K[name], uniforms=np.full((2, K[name]), 0.3))


def _same_error(core_call, torch_call, kind=ValueError):
    with pytest.raises(kind) as core_err:
        core_call()
    with pytest.raises(kind) as torch_err:
        torch_call()
    assert str(torch_err.value) == str(core_err.value)


def _bad_p_cases():
    nan, neg, inf, off = P.copy(), P.copy(), P.copy(), P.copy()
    nan[1, 2] = np.nan
    neg[0, 3] = -1e-9
    inf[1, 0] = np.inf
    off[1] *= 1.01
    return {"nan": nan, "negative": neg, "inf": inf, "sum": off}


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
@pytest.mark.parametrize("case", list(_bad_p_cases()))
@pytest.mark.parametrize("which", ["p", "q"])
def test_bad_probability_values_raise_the_core_message(name, case, which):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    d = _drafts(name)
    bad = _bad_p_cases()[case]
    p, q = (bad, Q) if which == "p" else (P, bad)
    u = np.full((2, K[name] + 1), 0.5)
    _same_error(
        lambda: core.verify(p, q, d, uniforms=u),
        lambda: torch_scheme.verify(torch.from_numpy(p), torch.from_numpy(q), torch.from_numpy(d), uniforms=u),
    )
    if which == "q":
        _same_error(
            lambda: core.draft(q, K[name], uniforms=u[:, :-1]),
            lambda: torch_scheme.draft(torch.from_numpy(q), K[name], uniforms=u[:, :-1]),
        )


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_draft_token_out_of_range_or_with_zero_q_raises_the_core_message(name):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    u = np.full((2, K[name] + 1), 0.5)
    good = _drafts(name)
    for bad_token in (4, -1, 3):  # 3 has q = 0 in row 0
        d = good.copy()
        d[0, -1] = bad_token
        if name == "spechub":  # keep the hub rule satisfied so the token check is what fails
            d[0] = [bad_token, int(np.argmax(Q[0]))]
        _same_error(
            lambda d=d: core.verify(P, Q, d, uniforms=u),
            lambda d=d: torch_scheme.verify(
                torch.from_numpy(P), torch.from_numpy(Q), torch.from_numpy(d), uniforms=u
            ),
        )


def test_rrsw_repeated_draft_raises_the_core_message():
    d = np.array([[0, 0], [1, 2]])
    u = np.full((2, 3), 0.5)
    _same_error(
        lambda: specsample.rrsw.verify(P, Q, d, uniforms=u),
        lambda: gpu.rrsw.verify(torch.from_numpy(P), torch.from_numpy(Q), torch.from_numpy(d), uniforms=u),
    )


@pytest.mark.parametrize("pair", [[0, 1], [2, 2]])
def test_spechub_pair_without_exactly_one_hub_raises_the_core_message(pair):
    d = np.array([pair, [1, 0]])  # row 1 is fine: hub of Q[1] is 0
    u = np.full((2, 3), 0.5)
    _same_error(
        lambda: specsample.spechub.verify(P, Q, d, uniforms=u),
        lambda: gpu.spechub.verify(torch.from_numpy(P), torch.from_numpy(Q), torch.from_numpy(d), uniforms=u),
    )


@pytest.mark.parametrize("name", ["rrsw", "spechub"])
def test_drafting_more_distinct_tokens_than_the_support_raises_the_core_message(name):
    q = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    u = np.full((2, 2), 0.5)
    _same_error(
        lambda: specsample.SCHEMES[name].draft(q, 2, uniforms=u),
        lambda: gpu.SCHEMES[name].draft(torch.from_numpy(q), 2, uniforms=u),
    )


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_uniforms_outside_the_unit_interval_raise_the_core_message(name):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    d = _drafts(name)
    for bad in (1.0, -0.25, np.nan):
        u = np.full((2, K[name] + 1), 0.5)
        u[1, 0] = bad
        _same_error(
            lambda u=u: core.verify(P, Q, d, uniforms=u),
            lambda u=u: torch_scheme.verify(torch.from_numpy(P), torch.from_numpy(Q), torch.from_numpy(d), uniforms=u),
        )


def test_k_beyond_a_torch_port_raises_naming_the_limit():
    """The torch SpecHub covers k <= 2 (the core's takes any k): k = 3 is refused, never run
    with the pair rule."""
    assert gpu.SCHEMES["spechub"].MAX_K == 2 and specsample.SCHEMES["spechub"].MAX_K is None
    q = torch.from_numpy(Q)
    with pytest.raises(ValueError, match=r"spechub supports k <= 2 drafts; got k=3"):
        gpu.SCHEMES["spechub"].draft(q, 3, uniforms=np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=r"spechub supports k <= 2 drafts; got k=3"):
        gpu.SCHEMES["spechub"].verify(torch.from_numpy(P), q, torch.zeros((2, 3), dtype=torch.int64),
                                      uniforms=np.full((2, 4), 0.5))


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_k_beyond_the_scheme_raises_the_core_message(name):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    if core.MAX_K is None:
        pytest.skip("no maximum k")
    k = core.MAX_K + 1
    _same_error(
        lambda: core.draft(Q, k, uniforms=np.full((2, k), 0.5)),
        lambda: torch_scheme.draft(torch.from_numpy(Q), k, uniforms=np.full((2, k), 0.5)),
    )
    d = np.zeros((2, k), dtype=np.int64)
    _same_error(
        lambda: core.verify(P, Q, d, uniforms=np.full((2, k + 1), 0.5)),
        lambda: torch_scheme.verify(torch.from_numpy(P), torch.from_numpy(Q), torch.from_numpy(d),
                                    uniforms=np.full((2, k + 1), 0.5)),
    )
    for bad_k, kind in ((0, ValueError), (True, TypeError), (1.0, TypeError)):
        _same_error(
            lambda bad_k=bad_k: core.draft(Q, bad_k, uniforms=np.full((2, 1), 0.5)),
            lambda bad_k=bad_k: torch_scheme.draft(torch.from_numpy(Q), bad_k, uniforms=np.full((2, 1), 0.5)),
            kind,
        )


def _rrs_verify(**overrides):
    args = {
        "p": torch.from_numpy(P),
        "q": torch.from_numpy(Q),
        "drafts": torch.tensor([[0, 1], [1, 2]]),
        "uniforms": torch.full((2, 3), 0.5, dtype=torch.float64),
    }
    args.update(overrides)
    return gpu.rrs.verify(args.pop("p"), args.pop("q"), args.pop("drafts"), **args)


@pytest.mark.parametrize(
    ("overrides", "kind", "words"),
    [
        ({"p": P}, TypeError, "p must be a torch.Tensor"),
        ({"q": torch.from_numpy(Q) > 0}, TypeError, "q must hold real numbers"),
        ({"drafts": torch.tensor([[0.0, 1.0], [1.0, 2.0]])}, TypeError, "drafts must hold integer"),
        ({"p": torch.from_numpy(P[0])}, ValueError, "p must be 2-D"),
        ({"p": torch.from_numpy(P[:, :3])}, ValueError, "p has 3 tokens but q has 4"),
        ({"drafts": torch.tensor([0, 1])}, ValueError, "drafts must be 2-D"),
        ({"drafts": torch.tensor([[0, 1]] * 3)}, ValueError, "p has 2 rows but drafts has 3"),
        ({"uniforms": torch.full((2, 2), 0.5)}, ValueError, "uniforms must have shape (2, 3)"),
        ({"uniforms": torch.zeros((2, 3), dtype=torch.int64)}, TypeError, "uniforms must be a float"),
        ({"uniforms": None}, TypeError, "exactly one of generator="),
        ({"generator": torch.Generator()}, TypeError, "exactly one of generator="),
        ({"uniforms": None, "generator": np.random.default_rng(0)}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_host_side_mistakes_name_the_argument(overrides, kind, words):
    with pytest.raises(kind, match=words.replace("(", r"\(").replace(")", r"\)")):
        _rrs_verify(**overrides)
