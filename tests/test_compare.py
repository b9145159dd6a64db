"""Tests of the acceptance-vs-bound report (specsample.compare, specsample.figure) and of
``specsample compare`` / the real-pair part of ``specsample demo``.

Every number of a report is recomputed here from the library's public functions
(``acceptance_rate``, ``ot_bound``, ``report.measure_acceptance`` with the documented seed)
and the interval arithmetic from scratch (numpy, and scipy's t quantile where installed).
The reports run on a few real pairs so that the file stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import struct
import zlib

import numpy as np
import pytest
from cli_run import run_main
from hypothesis import given, settings
from specsample.lp import optimal_acceptance, ot_bound
from strategies import examples, rational_pairs

import specsample
from specsample import SCHEMES, cli, compare, report
from specsample.data import DATA_FILE, load_pairs
from specsample.figure import plot_compare

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The per-pair exact acceptance may exceed its bound by float rounding only.
ROUNDING = 1e-12
#: A real subset with some measured RRSw cells: 3 pairs of each temperature, and a cost
#: limit below the k >= 3 cost of some of them (the fixture checks that some are measured).
SUBSET = 3
SUBSET_LIMIT = 1e4


@pytest.fixture(scope="module")
def population():
    return compare.real_population(per_temperature=SUBSET)


@pytest.fixture(scope="module")
def rep(population):
    result = compare.compare(population, samples=400, seed=5, exact_limit=SUBSET_LIMIT)
    assert result.measured > 0, "the subset must exercise the measured path"
    assert any(a.method == compare.EXACT for a in result.acceptances if a.scheme == "rrsw" and a.k >= 3)
    return result


@pytest.fixture(scope="module")
def instances(population):
    return {inst.name: inst for inst in population.instances}


# ---------------------------------------------------------------- the t interval
def test_t_quantile_closed_forms_for_one_and_two_degrees_of_freedom():
    """df = 1 is Cauchy, t = tan(pi c / 2); df = 2 has P(|T| <= t) = t / sqrt(2 + t^2)."""
    for c in (0.5, 0.9, 0.95, 0.99):
        np.testing.assert_allclose(compare.t_quantile(c, 1), math.tan(math.pi * c / 2), rtol=1e-11)
        np.testing.assert_allclose(compare.t_quantile(c, 2), c * math.sqrt(2 / (1 - c * c)), rtol=1e-11)


def test_t_quantile_and_coverage_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 4, 5, 8, 9, 31, 63, 303, 607, 5000):
        for c in (0.8, 0.95, 0.99):
            np.testing.assert_allclose(compare.t_quantile(c, df), stats.t.ppf((1 + c) / 2, df), rtol=1e-10)
        for t in (0.0, 0.3, 1.0, 2.5, 40.0):
            np.testing.assert_allclose(compare.t_coverage(t, df), 2 * stats.t.cdf(t, df) - 1,
                                       rtol=1e-12, atol=1e-15)


def test_t_quantile_approaches_the_normal_quantile():
    assert compare.t_quantile(0.95, 10**5) == pytest.approx(report.Z95, abs=3e-5)
    assert compare.t_quantile(0.95, 30) > compare.t_quantile(0.95, 300) > report.Z95


def test_mean_interval_arithmetic():
    values = [0.25, 0.5, 0.5, 1.0]
    iv = compare.mean_interval(values)
    mean = 0.5625
    sd = math.sqrt(((0.25 - mean) ** 2 + 2 * (0.5 - mean) ** 2 + (1.0 - mean) ** 2) / 3)
    t = compare.t_quantile(0.95, 3)
    assert iv.mean == mean and iv.n == 4
    np.testing.assert_allclose(iv.sd, sd, rtol=1e-15)
    np.testing.assert_allclose(iv.half_width, t * sd / 2, rtol=1e-15)
    np.testing.assert_allclose((iv.low, iv.high), (mean - t * sd / 2, mean + t * sd / 2), rtol=1e-15)
    one = compare.mean_interval([0.7])
    assert (one.mean, one.half_width, one.sd, one.low, one.high) == (0.7, None, None, None, None)
    same = compare.mean_interval([0.3] * 5)
    assert same.half_width == 0.0 and same.sd == 0.0


def test_mean_interval_covers_at_its_confidence():
    """Normal samples of size 5: the 90% interval covers the true mean in about 90% of
    20,000 seeded trials (binomial sd 0.0021; the band is 6 sd)."""
    rng = np.random.default_rng(11)
    trials = 20_000
    hits = 0
    for x in rng.normal(0.3, 0.1, size=(trials, 5)):
        iv = compare.mean_interval(x, 0.9)
        hits += iv.low <= 0.3 <= iv.high
    assert abs(hits / trials - 0.9) < 6 * math.sqrt(0.09 / trials)


@pytest.mark.parametrize("bad", [[], [[0.1, 0.2]], [0.1, float("nan")], [float("inf")]])
def test_mean_interval_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="values"):
        compare.mean_interval(bad)


@pytest.mark.parametrize(("t", "df", "match"), [(1.0, 0, "df"), (1.0, 2.5, "df"), (-1.0, 3, "t must")])
def test_t_coverage_rejects_bad_arguments(t, df, match):
    with pytest.raises(ValueError, match=match):
        compare.t_coverage(t, df)


# ---------------------------------------------------------------- draft laws and bounds
@settings(max_examples=examples(0.4))
@given(rational_pairs(need=3, max_size=5))
def test_each_scheme_is_mapped_to_the_law_its_drafts_follow(pair):
    """ot_bound of the mapped law equals the min-cut optimum of the scheme's own enumerated
    draft_law, exactly (rational arithmetic): the mapping names the right law."""
    p, q = pair
    for name, scheme in SCHEMES.items():
        for k in (1, 2, 3):
            law = compare.own_law(name, k)
            if law is None or not compare.supports(name, k):
                continue
            expected = optimal_acceptance(list(p), scheme.draft_law(list(q), k), solver="mincut").value
            assert ot_bound(list(p), list(q), k, drafts=law).value == expected, (name, k, law)


def test_own_law_names_each_schemes_drafting_law():
    assert compare.own_law("spechub", 2) == "hub"
    assert compare.own_law("spechub", 3) == "hub"
    assert compare.own_law("single", 2) == "iid"  # law known; k = 2 is beyond single's MAX_K
    assert compare.own_law("not-a-scheme", 2) is None
    assert set(compare.DRAFT_LAWS) == set(SCHEMES), "a scheme without a law would show n/a"


# ---------------------------------------------------------------- the report's numbers
def test_exact_acceptances_equal_acceptance_rate(rep, instances):
    exact = [a for a in rep.acceptances if a.method == compare.EXACT]
    assert exact
    for a in exact:
        inst = instances[a.pair]
        assert a.measured is None
        assert a.value == float(SCHEMES[a.scheme].acceptance_rate(inst.target, inst.draft, a.k)), a


def test_measured_acceptances_rerun_with_the_documented_seed(rep, instances):
    """A measured value is reproduced by measure_acceptance with default_rng(cell_seed(...)),
    and only RRSw cells whose exact cost exceeds the limit are measured."""
    for a in rep.acceptances:
        inst = instances[a.pair]
        costly = report.exact_work(a.scheme, inst.target, inst.draft, a.k) > rep.exact_limit
        assert (a.method == compare.MEASURED) == costly, a
        if a.method != compare.MEASURED:
            continue
        rng = np.random.default_rng(report.cell_seed(rep.seed, a.pair, a.k, a.scheme))
        again = report.measure_acceptance(SCHEMES[a.scheme], inst.target, inst.draft, a.k,
                                          samples=rep.samples, rng=rng)
        assert a.measured == again
        assert a.value == again.rate
        # the exact rate costs too much here (that is why it was measured); the measured
        # one must not exceed the bound beyond noise (6 se at the bound: ~1e-9 per cell)
        se = math.sqrt(a.bound * (1 - a.bound) / rep.samples)
        assert a.value <= a.bound + 6 * se + ROUNDING, a


def test_bounds_equal_ot_bound(rep, instances):
    laws = set()
    for b in rep.bounds:
        inst = instances[b.pair]
        again = ot_bound(inst.target, inst.draft, b.k, drafts=b.law)
        assert b.value == float(again.value) and b.method == again.method, b
        laws.add(b.law)
    assert laws == {"iid", "without_replacement", "hub"}
    for a in rep.acceptances:
        inst = instances[a.pair]
        assert a.law == compare.own_law(a.scheme, a.k)
        assert a.bound == float(ot_bound(inst.target, inst.draft, a.k, drafts=a.law).value), a


def test_every_exact_acceptance_is_at_most_its_own_bound(rep):
    for a in rep.acceptances:
        if a.method == compare.EXACT:
            assert a.value <= a.bound + ROUNDING, a
    assert rep.flagged == ()


def test_spechub_reaches_its_own_bound_on_every_pair(rep):
    hub = [a for a in rep.acceptances if a.scheme == "spechub"]
    assert {a.k for a in hub} == set(rep.ks)  # every k: top-(k-1) hubs plus one token
    for a in hub:
        assert abs(a.gap) <= ROUNDING, a


def test_rows_cover_every_temperature_k_and_supported_scheme(rep, population):
    assert rep.temperatures == (0.6, 1.0)
    assert rep.pair_counts == (SUBSET, SUBSET)
    expected = []
    for t in rep.temperatures:
        for k in rep.ks:
            expected += [(t, k, compare.VERIFIER, s) for s in SCHEMES if compare.supports(s, k)]
            expected += [(t, k, compare.BOUND, law) for law in compare.REFERENCE_LAWS]
    assert [(r.temperature, r.k, r.kind, r.name) for r in rep.rows] == expected
    assert rep.ks == (2, 3, 4)
    assert rep.unsupported(3) == ("single", "opt_wor")  # opt_wor: k <= 2


def _independent_interval(values, confidence=0.95):
    """mean, half-width: numpy's mean and sd, scipy's t quantile (or the library's without
    scipy, whose own accuracy is tested above)."""
    x = np.asarray(values, dtype=np.float64)
    try:
        from scipy import stats

        t = stats.t.ppf((1 + confidence) / 2, x.size - 1)
    except ImportError:
        t = compare.t_quantile(confidence, x.size - 1)
    return x.mean(), t * x.std(ddof=1) / math.sqrt(x.size)


def test_rows_are_the_mean_and_interval_of_the_per_pair_values(rep):
    for r in rep.rows:
        if r.kind == compare.VERIFIER:
            cells = [a for a in rep.acceptances
                     if a.temperature == r.temperature and a.k == r.k and a.scheme == r.name]
            series = {"value": [a.value for a in cells], "bound": [a.bound for a in cells],
                      "gap": [a.bound - a.value for a in cells]}
            assert r.measured == sum(a.method == compare.MEASURED for a in cells)
        else:
            series = {"value": [b.value for b in rep.bounds
                                if b.temperature == r.temperature and b.k == r.k and b.law == r.name]}
            assert r.bound is None and r.gap is None and r.measured == 0
        for field, values in series.items():
            iv = getattr(r, field)
            mean, half = _independent_interval(values)
            assert iv.n == len(values) == SUBSET
            np.testing.assert_allclose(iv.mean, mean, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(iv.half_width, half, rtol=1e-9, atol=1e-15)


def test_compare_reports_progress():
    calls = []
    pop = compare.zipf_population(2, vocab=30, temperatures=(1.0,))
    compare.compare(pop, ks=(2,), progress=lambda done, total, label: calls.append((done, total, label)))
    assert calls == [(0, 2, "zipf-0-T1"), (1, 2, "zipf-1-T1"), (2, 2, "done")]


# ---------------------------------------------------------------- formats agree
def _csv_value(text: str):
    return None if text == "" else text


def test_csv_rows_are_the_report_rows(rep):
    rows = list(csv.DictReader(io.StringIO(compare.format_csv(rep))))
    assert len(rows) == len(rep.rows)
    for line, r in zip(rows, rep.rows, strict=True):
        assert float(line["temperature"]) == r.temperature and int(line["k"]) == r.k
        assert (line["kind"], line["name"], int(line["pairs"])) == (r.kind, r.name, r.pairs)
        assert float(line["mean"]) == r.value.mean
        assert float(line["ci_low"]) == r.value.low and float(line["ci_high"]) == r.value.high
        assert int(line["measured_pairs"]) == r.measured
        if r.kind == compare.VERIFIER:
            assert float(line["bound_mean"]) == r.bound.mean
            assert float(line["gap_mean"]) == r.gap.mean
            assert float(line["gap_ci_low"]) == r.gap.low and float(line["gap_ci_high"]) == r.gap.high
        else:
            assert line["bound_mean"] == line["gap_mean"] == line["law"][:0]  # empty


def test_json_holds_the_rows_and_every_per_pair_value(rep):
    data = json.loads(compare.format_json(rep))
    assert data["confidence"] == 0.95 and data["samples"] == rep.samples and data["seed"] == rep.seed
    assert data["temperatures"] == [0.6, 1.0] and data["ks"] == [2, 3, 4]
    assert data["draft_laws"]["spechub"] == {"2": "hub", "3": "hub", "4": "hub"}
    assert data["draft_laws"]["rrsw"] == {"2": "without_replacement", "3": "without_replacement",
                                          "4": "without_replacement"}
    csv_rows = list(csv.DictReader(io.StringIO(compare.format_csv(rep))))
    for got, line in zip(data["rows"], csv_rows, strict=True):
        for key, value in got.items():
            text = line[key]
            if value is None:
                assert text == ""
            elif isinstance(value, str):
                assert text == value
            else:
                assert float(text) == value, key
    assert len(data["acceptances"]) == len(rep.acceptances)
    for got, a in zip(data["acceptances"], rep.acceptances, strict=True):
        assert (got["pair"], got["k"], got["scheme"], got["method"]) == (a.pair, a.k, a.scheme, a.method)
        assert got["value"] == a.value and got["bound"] == a.bound
        if a.measured is not None:
            assert (got["accepted"], got["samples"]) == (a.measured.accepted, a.measured.samples)
    assert [(b["pair"], b["k"], b["law"], b["value"]) for b in data["bounds"]] == [
        (b.pair, b.k, b.law, b.value) for b in rep.bounds
    ]
    assert data["flagged"] == 0


def _four(x) -> str:
    text = f"{x:.4f}"
    return "0.0000" if text == "-0.0000" else text  # a rounding error below zero is shown as 0


def _pm(iv) -> str:
    return f"{_four(iv.mean)} ± {_four(iv.half_width)}"


def test_text_table_shows_the_rows(rep):
    text = compare.format_text(rep)
    assert "\x1b[" not in text  # no colour codes unless asked
    assert all(line == line.rstrip() for line in text.splitlines())
    blocks = re.split(r"^(T = [0-9.]+): (\d+) pairs$", text, flags=re.M)
    # [preamble, "T = 0.6", "3", body, "T = 1.0", "3", body]
    assert blocks[1::3] == ["T = 0.6", "T = 1.0"] and blocks[2::3] == ["3", "3"]
    for t, body in zip(rep.temperatures, blocks[3::3], strict=True):
        cells = [re.split(r"\s{2,}", line.strip()) for line in body.splitlines()
                 if re.match(r"\s*\d+\s{2,}\S", line)]
        rows = [r for r in rep.rows if r.temperature == t]
        assert len(cells) == len(rows)
        for fields, r in zip(cells, rows, strict=True):
            assert fields[0] == str(r.k)
            if r.kind == compare.VERIFIER:
                assert fields[1:7] == [r.name, compare.LAW_LABELS[r.law], _pm(r.value), _pm(r.bound),
                                       _pm(r.gap), str(r.pairs)]
                if not r.measured:
                    assert fields[7] == "exact"
                elif r.measured == r.pairs:
                    assert fields[7] == "measured †"
                else:
                    assert fields[7] == f"{r.pairs - r.measured} exact, {r.measured} measured †"
            else:
                assert fields[1:5] == ["OT bound", compare.LAW_LABELS[r.law], _pm(r.value), str(r.pairs)]
    assert f"of {len(rep.acceptances)} per-pair values" in text
    assert "single: k <= 1 only" in text and "spechub: k <=" not in text


def test_text_in_colour_for_a_terminal(rep):
    assert "\x1b[" in compare.format_text(rep, color=True)


# ---------------------------------------------------------------- unknown laws, skips, flags
def test_a_scheme_without_a_known_law_gets_no_bound(monkeypatch):
    """A registry newcomer missing from DRAFT_LAWS shows n/a, never another law's bound."""
    monkeypatch.setitem(specsample.SCHEMES, "newcomer", specsample.rrs)
    pop = compare.zipf_population(3, vocab=40, temperatures=(1.0,))
    result = compare.compare(pop, ks=(2,), schemes=["rrs", "newcomer"])
    row = result.row(1.0, 2, "newcomer")
    assert row.law is None and row.bound is None and row.gap is None
    assert row.value == result.row(1.0, 2, "rrs").value
    assert all(a.bound is None for a in result.acceptances if a.scheme == "newcomer")
    text = compare.format_text(result)
    line = next(line for line in text.splitlines() if "newcomer" in line and "n/a" in line)
    assert line.count("n/a") == 3  # law, bound, gap
    assert "no OT bound is known for the draft law of: newcomer" in text
    assert json.loads(compare.format_json(result))["rows"][1]["bound_mean"] is None


def test_pairs_the_library_rejects_are_skipped_and_said(tmp_path):
    """q has 2 tokens with q > 0: RRSw and the without-replacement bound cannot take k = 3."""
    p = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    q = np.array([[0.6, 0.4, 0.0], [0.3, 0.3, 0.4]])
    path = tmp_path / "two.npz"
    np.savez(path, p=p, q=q)
    result = compare.compare(compare.npz_population(path), ks=(3,), schemes=["rrs", "rrsw"])
    skipped = {(s.pair, s.what) for s in result.skipped}
    assert skipped == {("two-0", "rrsw"), ("two-0", "bound:without_replacement")}
    assert all("positive probability to at least 3" in s.reason for s in result.skipped)
    assert result.row(None, 3, "rrsw").pairs == 1
    assert result.row(None, 3, "rrs").pairs == 2
    assert result.row(None, 3, "without_replacement").pairs == 1
    assert result.row(None, 3, "rrsw").value.half_width is None  # one pair: no interval
    text = compare.format_text(result)
    assert "all pairs (no temperature): 2 pairs" in text
    assert "skipped          2 (pair, k, scheme/bound)" in text


def test_a_measured_rate_above_its_bound_is_flagged():
    m = report.Measurement(accepted=950, samples=1000)
    cell = compare.PairAcceptance("x", 1.0, 3, "rrsw", compare.MEASURED, m.rate, m,
                                  "without_replacement", 0.9)
    assert cell.flagged  # 0.95 is 5.3 standard errors above 0.9
    within = report.Measurement(accepted=910, samples=1000)
    assert not compare.PairAcceptance("x", 1.0, 3, "rrsw", compare.MEASURED, within.rate, within,
                                      "without_replacement", 0.9).flagged


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"ks": ()}, "ks"), ({"ks": (0,)}, "ks"), ({"ks": (2, 2)}, "ks"), ({"schemes": ["x"]}, "schemes"),
     ({"samples": 0}, "samples"), ({"seed": -1}, "seed"), ({"exact_limit": float("nan")}, "exact_limit"),
     ({"confidence": 1.0}, "confidence")],
)
def test_compare_rejects_bad_arguments(kwargs, match):
    pop = compare.zipf_population(1, vocab=10, temperatures=(1.0,))
    with pytest.raises(ValueError, match=match):
        compare.compare(pop, **kwargs)


# ---------------------------------------------------------------- sources
def test_real_subsets_are_evenly_spaced_and_keep_their_names():
    data = load_pairs()
    pop = compare.real_population(temperatures=[1.0], per_temperature=4)
    at_one = [i for i, pair in enumerate(data) if pair.temperature == 1.0]
    chosen = [at_one[j * len(at_one) // 4] for j in range(4)]
    assert [inst.name for inst in pop.instances] == [f"real-{i}" for i in chosen]
    for inst, i in zip(pop.instances, chosen, strict=True):
        np.testing.assert_array_equal(inst.target, data[i].p)
        np.testing.assert_array_equal(inst.draft, data[i].q)
    assert len(compare.real_population().instances) == len(data)
    with pytest.raises(ValueError, match="not in"):
        compare.real_population(temperatures=[0.7])


@pytest.mark.parametrize("family", [compare.dirichlet_population, compare.zipf_population])
def test_synthetic_families_are_seeded_valid_and_paired(family):
    a = family(3, vocab=50, seed=4)
    b = family(3, vocab=50, seed=4)
    c = family(3, vocab=50, seed=5)
    assert [i.name for i in a.instances] == [i.name for i in b.instances]
    assert a.temperatures == (0.6, 1.0) and len(a.instances) == 6
    for x, y, z in zip(a.instances, b.instances, c.instances, strict=True):
        np.testing.assert_array_equal(x.draft, y.draft)
        assert not np.array_equal(x.draft, z.draft)
        for arr in (x.target, x.draft):
            assert arr.shape == (50,) and not arr.flags.writeable
            assert np.all(arr >= 0) and abs(arr.sum() - 1) < 1e-12
    cold, hot = a.instances[0], a.instances[3]  # base 0 at T = 0.6 and at T = 1.0
    np.testing.assert_allclose(cold.target, hot.target ** (1 / 0.6) / np.sum(hot.target ** (1 / 0.6)),
                               rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize(
    ("family", "kwargs", "match"),
    [(compare.dirichlet_population, {"n": 0}, "n must"), (compare.dirichlet_population, {"alpha": 0.0}, "alpha"),
     (compare.dirichlet_population, {"noise": -1.0}, "noise"),
     (compare.zipf_population, {"draft_temperature": float("inf")}, "draft_temperature"),
     (compare.zipf_population, {"temperatures": ()}, "temperatures"),
     (compare.zipf_population, {"temperatures": (1.0, 1.0)}, "temperatures"),
     (compare.zipf_population, {"seed": -2}, "seed")],
)
def test_synthetic_families_reject_bad_parameters(family, kwargs, match):
    args = {"n": 2, **kwargs}
    n = args.pop("n")
    with pytest.raises(ValueError, match=match):
        family(n, **args)


def test_npz_rows_with_temperatures_round_trip(tmp_path):
    pop = compare.zipf_population(2, vocab=12, seed=1)
    path = tmp_path / "mine.npz"
    np.savez(path, p=np.stack([i.target for i in pop.instances]),
             q=np.stack([i.draft for i in pop.instances]),
             temperature=np.array([i.temperature for i in pop.instances]))
    loaded = compare.npz_population(path)
    assert loaded.source == "mine.npz" and loaded.temperatures == (0.6, 1.0)
    assert [i.name for i in loaded.instances] == [f"mine-{j}" for j in range(4)]
    for x, y in zip(loaded.instances, pop.instances, strict=True):
        np.testing.assert_array_equal(x.target, y.target)
        assert x.temperature == y.temperature
    assert len(compare.npz_population(path, temperatures=[1.0], per_temperature=1).instances) == 1


def test_the_shipped_file_loads_as_a_user_npz():
    pop = compare.npz_population(DATA_FILE, temperatures=[0.6], per_temperature=5)
    real = compare.real_population(temperatures=[0.6], per_temperature=5)
    for x, y in zip(pop.instances, real.instances, strict=True):
        np.testing.assert_array_equal(x.target, y.target)
        np.testing.assert_array_equal(x.draft, y.draft)


def _npz(tmp_path, name="bad.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


GOOD = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"p": GOOD}, r"lacks the arrays \['q'\]"),
        ({"p": GOOD, "q": GOOD[:, :2]}, "p has shape .* but q has shape"),
        ({"p": GOOD[0], "q": GOOD[0]}, r"shape \(N, V\)"),
        ({"p": GOOD, "q": np.array([[0.5, 0.5, 0.0], [0.2, np.nan, 0.8]])}, r"q\[1\] has NaN at token 1"),
        ({"p": np.array([[0.5, 0.6, 0.0], [0.2, 0.3, 0.5]]), "q": GOOD}, r"p\[0\] sums to"),
        ({"p": GOOD, "q": -GOOD}, r"q\[0\] has a negative entry"),
        ({"p": GOOD.astype(bool), "q": GOOD}, "real numbers"),
        ({"p": GOOD, "q": GOOD, "temperature": np.array([1.0])}, r"temperature must be numbers of shape \(2,\)"),
        ({"p": GOOD, "q": GOOD, "temperature": np.array([1.0, -1.0])}, "finite and > 0"),
        ({"p": GOOD.ravel(), "q": GOOD.ravel(), "offsets": np.array([0, 4, 6])}, r"p\[0\] sums to"),
        ({"p": GOOD.ravel(), "q": GOOD.ravel(), "offsets": np.array([0, 3, 7])}, "offsets must rise"),
        ({"p": GOOD.ravel(), "q": GOOD.ravel(), "offsets": np.array([0.0, 6.0])}, "offsets must be 1-D ints"),
        ({"p": GOOD, "q": GOOD, "offsets": np.array([0, 6])}, "must be 1-D"),
    ],
)
def test_bad_npz_files_give_clear_errors(tmp_path, arrays, match):
    with pytest.raises(ValueError, match=match):
        compare.npz_population(_npz(tmp_path, **arrays))


def test_unreadable_or_missing_npz(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        compare.npz_population(tmp_path / "nothing.npz")
    text = tmp_path / "text.npz"
    text.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"not a readable \.npz"):
        compare.npz_population(text)
    single = tmp_path / "single.npy"
    np.save(single, GOOD)
    with pytest.raises(ValueError, match="single array"):
        compare.npz_population(single)
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, p=np.array([GOOD[0], None], dtype=object), q=GOOD)
    with pytest.raises(ValueError, match=r"objects\.npz"):
        compare.npz_population(pickled)


# ---------------------------------------------------------------- the figure
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figure_is_a_png(rep):
    data = plot_compare(rep)
    width, height = _png_size(data)
    assert width > 600 and height > 400
    assert len(data) > 20_000
    # the image is not blank: decompress the IDAT chunks and look for several byte values
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        if data[at + 4:at + 8] == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    assert len(set(pixels[::97])) > 10


# ---------------------------------------------------------------- the command line
def test_compare_help(capsys):
    status, out, _ = run_main(["compare", "--help"], capsys)
    assert status == 0
    assert "usage: specsample compare" in out
    for words in ("--source", "dirichlet", "zipf", "FILE.npz", "offsets", "--plot", "--exact-limit",
                  "Student-t", "rrsw -> w/o replacement", "spechub -> hub,"):
        assert words in out


def test_compare_cli_json_matches_the_library(capsys):
    argv = ["compare", "--pairs", "2", "-k", "2,3", "--format", "json", "--seed", "3", "--no-progress"]
    status, out, _ = run_main(argv, capsys)
    assert status == 0
    data = json.loads(out)
    direct = compare.compare(compare.real_population(per_temperature=2), ks=(2, 3), seed=3)
    assert data == json.loads(compare.format_json(direct))


def test_compare_cli_files_and_figure(tmp_path, capsys):
    argv = ["compare", "--source", "zipf", "--pairs", "3", "--vocab", "60", "-k", "2", "--format", "csv"]
    status, printed, _ = run_main(argv, capsys)
    assert status == 0
    table, figure = tmp_path / "t.csv", tmp_path / "f.png"
    status, out, err = run_main([*argv, "-o", str(table), "--plot", str(figure)], capsys)
    assert status == 0 and out == ""
    assert table.read_text(encoding="utf-8") == printed
    assert str(table) in err and str(figure) in err
    _png_size(figure.read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "t.csv"]  # no temporaries


def test_compare_cli_text(capsys):
    status, out, _ = run_main(["compare", "--source", "dirichlet", "--pairs", "2", "--vocab", "40",
                               "--temperatures", "1.0", "-k", "2"], capsys)
    assert status == 0
    assert "synthetic Dirichlet pairs" in out and "T = 1.0: 2 pairs" in out
    assert "spechub" in out and "OT bound" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--source", "nope"], "expected real, dirichlet, zipf or the path of a .npz file"),
        (["--source", "missing.npz"], "--source missing.npz: 'missing.npz' does not exist"),
        (["--temperatures", "0.7"], "temperatures [0.7] are not in"),
        (["--temperatures", "x"], "--temperatures"),
        (["--vocab", "30"], "--vocab applies to --source dirichlet or zipf only"),
        (["--source", "zipf", "--alpha", "0.1"], "--alpha applies to --source dirichlet only"),
        (["--source", "zipf", "--noise", "inf"], "noise must be a finite number"),
        (["--pairs", "0"], "--pairs"),
        (["-k", "2,2"], "repeated"),
        (["--format", "xml"], "--format"),
    ],
)
def test_compare_cli_bad_arguments(argv, fragment, capsys):
    status, out, err = run_main(["compare", *argv], capsys)
    assert status == 2
    assert fragment in err
    assert out == ""


def test_compare_cli_bad_npz_names_the_problem(tmp_path, capsys):
    path = _npz(tmp_path, p=GOOD, q=np.array([[0.5, 0.5, 0.0], [0.2, np.nan, 0.8]]))
    status, out, err = run_main(["compare", "--source", str(path)], capsys)
    assert status == 2 and out == ""
    assert "q[1] has NaN at token 1" in err


def test_compare_cli_unwritable_outputs_fail_before_the_work(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed although the output cannot be written")

    monkeypatch.setattr(compare, "compare", boom)
    for option in ("-o", "--plot"):
        target = tmp_path / "missing" / "x"
        status, out, err = run_main(["compare", option, str(target)], capsys)
        assert status == cli.EXIT_IO and out == ""
        assert "cannot write" in err and "does not exist" in err


# ---------------------------------------------------------------- the demo's real-pair part
def test_demo_runs_the_report_on_real_pairs_and_draws_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--pairs", "det", "-k", "2", "--schemes", "rrs,spechub", "--samples", "300",
            "--real-pairs", "2"]
    status, text, err = run_main(argv, capsys)
    assert status == 0
    assert "det (V=64)" in text  # the synthetic table
    assert "Acceptance vs the optimal-transport bound" in text and "T = 0.6: 2 pairs" in text
    assert cli.DEMO_FIGURE in err
    _png_size((tmp_path / cli.DEMO_FIGURE).read_bytes())

    status, raw, _ = run_main([*argv, "--format", "json", "--plot", "other.png"], capsys)
    assert status == 0
    data = json.loads(raw)
    real = data["real_pairs"]
    assert real["ks"] == [2] and real["schemes"] == ["rrs", "spechub"]
    assert real["exact_limit"] == cli.DEMO_COMPARE_EXACT_LIMIT
    direct = compare.compare(compare.real_population(per_temperature=2), ks=(2,),
                             schemes=["rrs", "spechub"], exact_limit=cli.DEMO_COMPARE_EXACT_LIMIT)
    assert real == json.loads(compare.format_json(direct))
    assert (tmp_path / "other.png").is_file()


def test_demo_no_plot_and_no_compare_write_no_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["demo", "--pairs", "det", "-k", "2", "--samples", "100", "--real-pairs", "1"]
    status, text, _ = run_main([*base, "--no-plot"], capsys)
    assert status == 0 and "OT bound" in text
    status, text, _ = run_main([*base, "--no-compare", "--format", "json"], capsys)
    assert status == 0 and "real_pairs" not in json.loads(text)
    assert list(tmp_path.iterdir()) == []


def test_demo_default_settings_are_the_documented_ones(capsys):
    status, out, _ = run_main(["demo", "--help"], capsys)
    assert status == 0
    assert f"{cli.DEMO_REAL_PAIRS} evenly spaced pairs" in out
    assert cli.DEMO_FIGURE in out and "--no-plot" in out and "--no-compare" in out


@pytest.mark.slow
def test_every_real_pair_acceptance_is_at_most_its_own_bound():
    """All 608 shipped pairs, k = 2, 3, 4, every scheme (RRSw k >= 3 exact where its cost is
    at most 2e6, measured and checked against the bound's noise band elsewhere)."""
    result = compare.compare(compare.real_population())
    for a in result.acceptances:
        if a.method == compare.EXACT:
            assert a.value <= a.bound + ROUNDING, a
    assert result.flagged == ()



def test_values_that_round_to_zero_print_without_a_sign():
    """An optimal verifier's gap is a rounding error either side of zero: never "-0.0000"."""
    assert compare._four(-1e-17) == "0.0000" and compare._four(-0.00004) == "0.0000"
    assert compare._four(-0.00006) == "-0.0001" and compare._four(0.12344) == "0.1234"
