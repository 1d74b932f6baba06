"""Invariants of the Erlang maths, and agreement with independent 50-digit references."""

import highprec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.erlang import erlang_a, erlang_b, erlang_c, mmn_deterministic
from pacing.errors import InvalidInput, Overloaded

agents = st.integers(min_value=1, max_value=100_000)
small_agents = st.integers(min_value=1, max_value=60)
utilisation = st.floats(min_value=0.0, max_value=3.0)
aht = st.floats(min_value=10.0, max_value=1200.0)
patience = st.floats(min_value=0.5, max_value=3600.0)
target = st.floats(min_value=0.0, max_value=300.0)

PROBABILITIES_A = ("p_wait", "p_abandon", "p_abandon_given_wait", "occupancy", "p_answered_within_t",
                   "p_offered_wait_gt_t")


def _below_or_close(lower: float, upper: float) -> bool:
    return lower <= upper * (1 + 1e-9) + 1e-15


@given(agents, utilisation, aht, patience, target)
def test_erlang_a_probabilities_are_probabilities(n, u, h, p, t):
    r = erlang_a(n, n * u, h, p, t)
    for key in PROBABILITIES_A:
        assert 0.0 <= getattr(r, key) <= 1.0, key
    assert r.p_abandon <= r.p_wait * (1 + 1e-9) + 1e-15


@given(agents, st.floats(min_value=0.0, max_value=0.999), aht, target)
def test_erlang_c_probabilities_are_probabilities(n, u, h, t):
    r = erlang_c(n, n * u, h, t)
    for key in ("erlang_b", "p_wait", "p_wait_gt_t", "service_level", "occupancy"):
        assert 0.0 <= getattr(r, key) <= 1.0, key
    assert r.erlang_b <= r.p_wait * (1 + 1e-12) + 1e-300


@given(agents, utilisation, aht, st.floats(min_value=0.0, max_value=600.0))
def test_mmn_d_probabilities_are_probabilities(n, u, h, limit):
    r = mmn_deterministic(n, n * u, h, limit)
    assert 0.0 <= r.p_wait <= 1.0
    assert 0.0 <= r.p_abandon <= r.p_wait * (1 + 1e-9) + 1e-15
    assert 0.0 <= r.occupancy <= 1.0


@given(st.integers(min_value=1, max_value=20_000), st.floats(min_value=0.01, max_value=30_000.0), aht, patience)
def test_monotone_in_agents(n, a, h, p):
    fewer, more = erlang_a(n, a, h, p), erlang_a(n + 1, a, h, p)
    assert _below_or_close(more.p_wait, fewer.p_wait)
    assert _below_or_close(more.p_abandon, fewer.p_abandon)
    assert _below_or_close(erlang_b(n + 1, a), erlang_b(n, a))
    d_fewer, d_more = mmn_deterministic(n, a, h, 2.0), mmn_deterministic(n + 1, a, h, 2.0)
    assert _below_or_close(d_more.p_abandon, d_fewer.p_abandon)
    if a < n:
        assert _below_or_close(erlang_c(n + 1, a, h).p_wait, erlang_c(n, a, h).p_wait)


@given(st.integers(min_value=1, max_value=20_000), st.floats(min_value=0.01, max_value=30_000.0),
       st.floats(min_value=1.001, max_value=1.5), aht, patience)
def test_monotone_in_load(n, a, factor, h, p):
    low, high = erlang_a(n, a, h, p), erlang_a(n, a * factor, h, p)
    assert _below_or_close(low.p_wait, high.p_wait)
    assert _below_or_close(low.p_abandon, high.p_abandon)
    assert _below_or_close(erlang_b(n, a), erlang_b(n, a * factor))
    d_low, d_high = mmn_deterministic(n, a, h, 2.0), mmn_deterministic(n, a * factor, h, 2.0)
    assert _below_or_close(d_low.p_abandon, d_high.p_abandon)


@given(st.integers(min_value=1, max_value=5_000), st.floats(min_value=0.05, max_value=0.95), aht)
def test_erlang_a_tends_to_erlang_c_as_patience_grows(n, u, h):
    c = erlang_c(n, n * u, h, 20.0)
    a = erlang_a(n, n * u, h, 1e9 * h, 20.0)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-5, abs=1e-300)
    assert a.p_offered_wait_gt_t == pytest.approx(c.p_wait_gt_t, rel=1e-5, abs=1e-300)
    assert a.p_abandon < 1e-6


@given(st.integers(min_value=1, max_value=5_000), utilisation, aht)
def test_erlang_a_tends_to_erlang_b_as_patience_shrinks(n, u, h):
    a = erlang_a(n, n * u, h, 1e-12 * h)
    assert a.p_abandon == pytest.approx(erlang_b(n, n * u), rel=1e-6, abs=1e-300)


@given(st.integers(min_value=1, max_value=5_000), st.floats(min_value=0.05, max_value=0.95), aht)
def test_mmn_d_tends_to_erlang_c_and_b(n, u, h):
    long_wait = mmn_deterministic(n, n * u, h, 1e6 * h)
    assert long_wait.p_wait == pytest.approx(erlang_c(n, n * u, h).p_wait, rel=1e-9, abs=1e-300)
    no_wait = mmn_deterministic(n, n * u, h, 0.0)
    assert no_wait.p_abandon == pytest.approx(erlang_b(n, n * u), rel=1e-9, abs=1e-300)


@given(st.lists(st.tuples(agents, utilisation, aht, patience, target), min_size=1, max_size=20))
def test_scalar_and_vector_calls_agree(rows):
    n, u, h, p, t = (np.array(col, dtype=float) for col in zip(*rows, strict=False))
    vector = erlang_a(n, n * u, h, p, t).as_dict()
    vector_d = mmn_deterministic(n, n * u, h, p).as_dict()
    for i, row in enumerate(rows):
        scalar = erlang_a(row[0], row[0] * row[1], row[2], row[3], row[4]).as_dict()
        for key, value in scalar.items():
            assert vector[key][i] == pytest.approx(value, rel=1e-12, abs=1e-300), key
        assert vector_d["p_abandon"][i] == pytest.approx(
            mmn_deterministic(row[0], row[0] * row[1], row[2], row[3]).p_abandon, rel=1e-12, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=400), st.floats(min_value=0.0, max_value=2.0))
def test_erlang_b_matches_50_digit_sum(n, u):
    expected = float(highprec.erlang_b(n, n * u))
    assert erlang_b(n, n * u) == pytest.approx(expected, rel=1e-12, abs=1e-300)


_SLOW = pytest.mark.slow  # the 50-digit reference sums 100,000 terms: seconds each


@pytest.mark.parametrize("n, a", [(10_000, 9_500.0), pytest.param(100_000, 99_000.0, marks=_SLOW),
                                  pytest.param(100_000, 100_000.0, marks=_SLOW),
                                  pytest.param(100_000, 150_000.0, marks=_SLOW), (50_000, 20_000.0), (1, 100_000.0)])
def test_erlang_b_at_scale(n, a):
    expected = float(highprec.erlang_b(n, a))
    assert erlang_b(n, a) == pytest.approx(expected, rel=1e-11, abs=1e-300)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0.1, max_value=1.6),
       st.floats(min_value=60.0, max_value=600.0), st.floats(min_value=1.0, max_value=300.0))
def test_erlang_a_matches_birth_death_chain(n, u, h, p):
    expected = highprec.erlang_a_chain(n, n * u, h, p)
    got = erlang_a(n, n * u, h, p)
    assert got.p_wait == pytest.approx(float(expected["p_wait"]), rel=1e-10)
    assert got.p_abandon == pytest.approx(float(expected["p_abandon"]), rel=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0.1, max_value=1.6),
       st.floats(min_value=60.0, max_value=600.0), st.floats(min_value=0.0, max_value=30.0))
def test_mmn_d_matches_numerical_integral(n, u, h, limit):
    expected = highprec.mmn_d_integral(n, n * u, h, limit)
    got = mmn_deterministic(n, n * u, h, limit)
    assert got.p_wait == pytest.approx(float(expected["p_wait"]), rel=1e-10)
    assert got.p_abandon == pytest.approx(float(expected["p_abandon"]), rel=1e-10)


def test_long_patience_abandonment_has_no_cancellation():
    """ρ < 1 and patience 10⁶ s: the closed form would cancel; check against the chain at 50 digits."""
    expected = highprec.erlang_a_chain(20, 17.0, 180.0, 1e6, extra=3000)
    got = erlang_a(20, 17.0, 180.0, 1e6)
    assert got.p_abandon == pytest.approx(float(expected["p_abandon"]), rel=1e-8)


@pytest.mark.parametrize("kwargs, argument", [
    ({"agents": 0, "erlangs": 5.0}, "agents"),
    ({"agents": 2.5, "erlangs": 1.0}, "agents"),
    ({"agents": 5, "erlangs": -1.0}, "erlangs"),
    ({"agents": 5, "erlangs": float("nan")}, "erlangs"),
    ({"agents": 5, "erlangs": 1.0, "aht_s": 0.0}, "aht_s"),
])
def test_bad_input_names_the_argument(kwargs, argument):
    with pytest.raises(InvalidInput) as info:
        erlang_a(**{"aht_s": 180.0, "patience_s": 30.0, **kwargs})
    assert info.value.argument == argument


def test_erlang_c_overload_is_a_clear_error_while_a_and_d_stay_valid():
    with pytest.raises(Overloaded):
        erlang_c(10, 10.0, 180.0)
    assert erlang_a(10, 20.0, 180.0, 60.0).p_abandon == pytest.approx(
        float(highprec.erlang_a_chain(10, 20.0, 180.0, 60.0)["p_abandon"]), rel=1e-10)
    assert 0.5 < mmn_deterministic(10, 20.0, 180.0, 2.0).p_abandon < 1.0
