"""escalsim.stats and escalsim.stats_paired: paired comparison of two arms run with common random numbers.

Reference values. Newcombe's method 10 on the four tables of Newcombe (1998, Stat Med 17:2635-2650, Table II)
as reproduced, to 4 decimals, in the tests of the R package propint (m-Py/propint,
tests/testthat/test_Two_Dependent_Props_CI.R, "results reported in Newcombe1998"); the paper itself was not
available here. Tango's interval, Newcombe's interval and McNemar's p-values on the table of Cavo et al. (2012),
as printed by the R package contingencytables (ocbe-uio/contingencytables, tests/testthat/test-ch8.R), which
implements Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency Tables", chapter 8. Both methods
are also checked against brute-force implementations of their definitions written here from first principles
(root-searched Wilson limits and a numerically maximised restricted likelihood), and their coverage against
simulation and exact enumeration.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special, stats

from escalsim.stats import (
    Z95,
    binary_variance_reduction,
    mcnemar,
    paired_counts,
    paired_difference,
)
from escalsim.stats_paired import paired_mean_difference, runs_needed

METHODS = ("newcombe", "tango")
N_SIM = 2000
# The coverage bound of a simulated 95 % interval: with N_SIM tables the coverage estimate has binomial standard
# error sqrt(0.95 * 0.05 / N_SIM) = 0.0049, so a method whose true coverage is at least 0.95 falls below
# 0.95 - 3 SE = 0.935 with probability under 0.14 %. The exact coverages of every simulated setting (by
# enumeration of all tables, as in test_exact_coverage) are 0.951-0.959 for both methods, so a fresh seed would
# fail a test with probability under 0.1 %; the seed is fixed, so the tests are deterministic anyway. The upper
# bound 0.99 (the coverage of an interval 1.3 times too wide) catches intervals that are too wide: the methods
# are somewhat conservative where discordant pairs are rare, but not that much at these settings.
COVERAGE_LOW = 0.95 - 3 * np.sqrt(0.95 * 0.05 / N_SIM)
COVERAGE_HIGH = 0.99


def cells(p_a, p_b, rho):
    """Cell probabilities (both, A only, B only, neither) of two binary outcomes with correlation rho."""
    both = p_a * p_b + rho * np.sqrt(p_a * (1 - p_a) * p_b * (1 - p_b))
    probs = np.array([both, p_a - both, p_b - both, 1 - p_a - p_b + both])
    assert (probs >= 0).all()
    return probs


def crn_runs(rng, p_a, p_b, share, shape):
    """Per-run outcomes of two arms coupled like common random numbers: B reuses A's uniform with probability
    share, else draws its own. Returns (A, B) boolean arrays of the given shape."""
    u = rng.random(shape)
    v = np.where(rng.random(shape) < share, u, rng.random(shape))
    return u < p_a, v < p_b


# ---------------------------------------------------------------------------------------------------------------
# Published values
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        ((36, 12, 2, 0), 0.0569, 0.3404),
        ((18, 12, 2, 18), 0.0562, 0.3290),  # ad - bc > n/2: exercises Newcombe's correction of phi
        ((53, 0, 0, 1), -0.0729, 0.0729),  # no discordant pairs
        ((0, 30, 0, 0), 0.8395, 1.0),  # every pair discordant, one way
    ],
)
def test_newcombe_1998_table_ii(table, low, high):
    a, b, c, d = table
    est, lo, hi = paired_difference(a, b, c, d)
    assert est == pytest.approx((b - c) / (a + b + c + d))
    assert lo == pytest.approx(low, abs=5e-5)  # published to 4 decimals
    assert hi == pytest.approx(high, abs=5e-5)


CAVO = (59, 6, 16, 80)  # Cavo et al. (2012): complete response before and after consolidation therapy


def test_cavo_2012_intervals_as_fagerland_lydersen_laake():
    est, lo, hi = paired_difference(*CAVO)
    assert (round(float(est), 4), round(float(lo), 4), round(float(hi), 4)) == (-0.0621, -0.1186, -0.0046)
    est, lo, hi = paired_difference(*CAVO, method="tango")
    assert (round(float(est), 4), round(float(lo), 4), round(float(hi), 4)) == (-0.0621, -0.1240, -0.0054)


def test_cavo_2012_mcnemar_as_fagerland_lydersen_laake():
    _, b, c, _ = CAVO
    assert mcnemar(b, c).p_value == pytest.approx(0.034690, abs=5e-7)
    assert mcnemar(b, c, method="exact").p_value == pytest.approx(0.052479, abs=5e-7)
    result = mcnemar(b, c, method="chi2")
    assert result.p_value == pytest.approx(0.033006, abs=5e-7)
    assert np.sqrt(result.statistic) == pytest.approx(2.132, abs=5e-4)  # published Z = -2.132
    assert result.discordant == 22


# ---------------------------------------------------------------------------------------------------------------
# Brute-force implementations of the definitions
# ---------------------------------------------------------------------------------------------------------------


def wilson_by_root_search(k, n, z):
    """Wilson limits as the roots in p of (k/n - p)^2 = z^2 p (1 - p) / n, not the closed form.

    At k = 0 (k = n) the equation also has the root 0 (1), the estimate itself; the brackets keep clear of it."""
    p, tiny = k / n, 1e-9

    def f(q):
        return (p - q) ** 2 - z * z * q * (1 - q) / n

    low = 0.0 if k == 0 else optimize.brentq(f, 0.0, min(p, 1 - tiny), xtol=1e-15)
    high = 1.0 if k == n else optimize.brentq(f, max(p, tiny), 1.0, xtol=1e-15)
    return low, high


def newcombe_brute(a, b, c, d, z=Z95):
    """Method 10 from its definition, with phi the Pearson correlation of the expanded per-pair outcomes."""
    n = a + b + c + d
    x_a = np.repeat([1, 1, 0, 0], [a, b, c, d])
    x_b = np.repeat([1, 0, 1, 0], [a, b, c, d])
    p_a, p_b = x_a.mean(), x_b.mean()
    l_a, u_a = wilson_by_root_search(a + b, n, z)
    l_b, u_b = wilson_by_root_search(a + c, n, z)
    if x_a.std() == 0 or x_b.std() == 0:
        phi = 0.0
    else:
        phi = np.corrcoef(x_a, x_b)[0, 1]
        if phi > 0:  # Newcombe: ad - bc replaced by max(ad - bc - n/2, 0); here as phi's equivalent shift
            phi = max(phi - (n / 2) / np.sqrt((a + b) * (c + d) * (a + c) * (b + d)), 0.0)
    below = np.sqrt((p_a - l_a) ** 2 - 2 * phi * (p_a - l_a) * (u_b - p_b) + (u_b - p_b) ** 2)
    above = np.sqrt((u_a - p_a) ** 2 - 2 * phi * (u_a - p_a) * (p_b - l_b) + (p_b - l_b) ** 2)
    return p_a - p_b - below, p_a - p_b + above


def tango_statistic_brute(delta, b, c, n):
    """Tango's score statistic with the restricted MLE found by maximising the likelihood numerically.

    Under H0: p_A - p_B = delta the cells are (A only, B only) = (q + delta, q); the multinomial likelihood
    b log(q + delta) + c log(q) + (n - b - c) log(1 - 2q - delta) is maximised over its feasible q."""

    def neg_log_lik(q):
        return -(special.xlogy(b, q + delta) + special.xlogy(c, q) + special.xlogy(n - b - c, 1 - 2 * q - delta))

    q_min, q_max = max(0.0, -delta), (1 - delta) / 2
    q = optimize.minimize_scalar(neg_log_lik, bounds=(q_min, q_max), method="bounded", options={"xatol": 1e-13}).x
    return (b - c - n * delta) / np.sqrt(n * (2 * q + delta - delta**2))


TABLES = [(36, 12, 2, 0), (18, 12, 2, 18), (53, 0, 0, 1), (0, 30, 0, 0), CAVO, (1, 1, 7, 12), (0, 0, 0, 1)]
TABLES += [tuple(t) for t in np.random.default_rng(20251014).multinomial(37, [0.3, 0.1, 0.2, 0.4], size=25)]


@pytest.mark.parametrize("table", TABLES)
def test_newcombe_equals_its_definition(table):
    _, low, high = paired_difference(*table)
    brute_low, brute_high = newcombe_brute(*table)
    assert low == pytest.approx(brute_low, abs=1e-9)
    assert high == pytest.approx(brute_high, abs=1e-9)


@pytest.mark.parametrize("table", TABLES[:8] + TABLES[-6:])
def test_tango_limits_are_where_the_score_statistic_crosses_z(table):
    a, b, c, d = table
    n = a + b + c + d
    _, low, high = paired_difference(a, b, c, d, method="tango")
    grid = np.linspace(-1 + 1e-6, 1 - 1e-6, 201)
    t = np.array([tango_statistic_brute(x, b, c, n) for x in grid])
    assert (np.diff(t) < 0).all()  # decreasing: each limit is the only crossing
    h = 1e-6
    if c == n:
        assert low == -1
    else:
        assert tango_statistic_brute(low - h, b, c, n) > Z95 > tango_statistic_brute(low + h, b, c, n)
    if b == n:
        assert high == 1
    else:
        assert tango_statistic_brute(high - h, b, c, n) > -Z95 > tango_statistic_brute(high + h, b, c, n)


def test_tango_excludes_zero_exactly_when_the_mcnemar_chi_square_rejects():
    # Tango's statistic at delta = 0 is (b - c) / sqrt(b + c), McNemar's z.
    b, c = np.meshgrid(np.arange(31), np.arange(31))
    b, c = b.ravel(), c.ravel()
    _, low, high = paired_difference(10, b, c, 5, method="tango")
    result = mcnemar(b, c, method="chi2")
    clear = np.abs(np.sqrt(result.statistic) - Z95) > 1e-6
    assert (((low > 0) | (high < 0)) == (result.p_value < 0.05))[clear].all()


# ---------------------------------------------------------------------------------------------------------------
# Edge cases and shapes
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_no_discordant_pairs_gives_a_symmetric_interval_around_zero(method):
    est, low, high = paired_difference(40, 0, 0, 10, method=method)
    assert est == 0 and low < 0 < high and low == pytest.approx(-high, abs=1e-12)
    if method == "tango":  # solved by hand: T(delta) = -sqrt(n delta / (1 - delta)) for delta > 0
        assert high == pytest.approx(Z95**2 / (50 + Z95**2), abs=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_all_pairs_discordant(method):
    est, low, high = paired_difference(0, 25, 0, 0, method=method)
    assert est == 1 and high == 1 and 0.5 < low < 1
    est, low, high = paired_difference(0, 0, 25, 0, method=method)
    assert est == -1 and low == -1 and -1 < high < -0.5
    est, low, high = paired_difference(0, 10, 10, 0, method=method)  # half each way
    assert est == 0 and low == pytest.approx(-high) and 0 < high < 1


@pytest.mark.parametrize("method", METHODS)
def test_every_table_of_small_n(method):
    for n in range(1, 9):
        grid = np.array(np.meshgrid(*[np.arange(n + 1)] * 3, indexing="ij")).reshape(3, -1)
        a, b, c = grid[:, grid.sum(axis=0) <= n]
        est, low, high = paired_difference(a, b, c, n - a - b - c, method=method)
        assert np.isfinite(low).all() and np.isfinite(high).all()
        assert (-1 <= low).all() and (low <= est).all() and (est <= high).all() and (high <= 1).all()
        assert (low < high).all()


@pytest.mark.parametrize("method", METHODS)
def test_swapping_the_arms_mirrors_the_interval(method):
    rng = np.random.default_rng(7)
    a, b, c, d = rng.multinomial(60, [0.25, 0.15, 0.1, 0.5], size=200).T
    est, low, high = paired_difference(a, b, c, d, method=method)
    est2, low2, high2 = paired_difference(a, c, b, d, method=method)
    np.testing.assert_allclose(est2, -est, atol=1e-12)
    np.testing.assert_allclose(low2, -high, atol=1e-9)
    np.testing.assert_allclose(high2, -low, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_arrays_and_scalars_give_the_same(method):
    rng = np.random.default_rng(11)
    tables = rng.multinomial(45, [0.3, 0.2, 0.1, 0.4], size=(3, 4))  # shape (3, 4, 4): a 3x4 grid of tables
    result = paired_difference(*np.moveaxis(tables, -1, 0), method=method)
    assert all(np.shape(x) == (3, 4) for x in result)
    for i, j in np.ndindex(3, 4):
        single = paired_difference(*(int(x) for x in tables[i, j]), method=method)
        assert all(np.ndim(x) == 0 for x in single)
        np.testing.assert_allclose([x[i, j] for x in result], single, atol=1e-12)
    # broadcasting: one b against several c
    many = paired_difference(10, 5, np.arange(4), 20, method=method)
    np.testing.assert_allclose(many.low, [paired_difference(10, 5, k, 20, method=method).low for k in range(4)])


def test_empty_table_and_bad_arguments():
    for method in METHODS:
        assert all(np.isnan(x) for x in paired_difference(0, 0, 0, 0, method=method))
        assert np.isnan(paired_difference([0, 3], 0, 0, 0, method=method).low[0])
    with pytest.raises(ValueError, match="non-negative"):
        paired_difference(1, -1, 2, 3)
    with pytest.raises(ValueError, match="unknown method"):
        paired_difference(1, 1, 2, 3, method="wald")
    with pytest.raises(ValueError, match="unknown method"):
        mcnemar(1, 2, method="yates")


def test_paired_counts():
    x_a = np.array([1, 1, 0, 0, 1, 0, 1])
    x_b = np.array([1, 0, 1, 0, 1, 0, 0])
    assert tuple(paired_counts(x_a, x_b)) == (2, 2, 1, 2)
    assert tuple(paired_counts(x_a.astype(bool), x_b.astype(bool))) == (2, 2, 1, 2)
    both = paired_counts(np.stack([x_a, x_b]), np.stack([x_b, x_a]))  # two variables, runs on the last axis
    np.testing.assert_array_equal(np.stack(both), [[2, 2], [2, 1], [1, 2], [2, 2]])
    assert tuple(paired_counts(x_a[:, None], x_b[:, None], axis=0)) == ([2], [2], [1], [2])
    with pytest.raises(ValueError, match="different shapes"):
        paired_counts(x_a, x_b[:-1])
    with pytest.raises(ValueError, match="0/1"):
        paired_counts(np.array([1.0, np.nan]), np.array([1.0, 0.0]))


def test_mcnemar_against_scipy_and_edges():
    for b, c in [(0, 0), (3, 3), (0, 7), (12, 4), (30, 41)]:
        m = b + c
        result = mcnemar(b, c, method="exact")
        exact = stats.binomtest(b, m, 0.5).pvalue if m else 1.0
        assert result.p_value == pytest.approx(exact, abs=1e-12)
        pmf = stats.binom.pmf(min(b, c), m, 0.5)
        assert mcnemar(b, c).p_value == pytest.approx(1.0 if b == c else exact - pmf, abs=1e-12)
        chi2 = mcnemar(b, c, method="chi2")
        assert chi2.statistic == (0.0 if m == 0 else (b - c) ** 2 / m)
        assert chi2.p_value == pytest.approx(1.0 if m == 0 else stats.chi2.sf((b - c) ** 2 / m, 1), abs=1e-12)
        assert mcnemar(c, b) == mcnemar(b, c)
    arrays = mcnemar(np.array([0, 12, 30]), np.array([0, 4, 41]))
    np.testing.assert_allclose(arrays.p_value, [mcnemar(b, c).p_value for b, c in [(0, 0), (12, 4), (30, 41)]])


def test_the_stats_modules_are_leaves():
    for name in ("stats.py", "stats_paired.py"):
        tree = ast.parse((Path(__file__).parents[1] / "escalsim" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0 and not (node.module or "").startswith("escalsim"), name
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("escalsim") for alias in node.names), name


# ---------------------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------------------

# (p_A, p_B, correlation) of the multinomial settings; exact coverage at n = 100 (Newcombe, Tango) in comments.
SETTINGS = [
    (0.3, 0.3, 0.0),  # 0.951, 0.951
    (0.3, 0.35, 0.5),  # 0.952, 0.953
    (0.5, 0.45, 0.8),  # 0.957, 0.952
    (0.1, 0.15, 0.3),  # 0.959, 0.954
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("setting", SETTINGS)
def test_coverage_by_simulation(setting, method):
    probs = cells(*setting)
    rng = np.random.default_rng([2025, 10, 14, SETTINGS.index(setting)])
    a, b, c, d = rng.multinomial(100, probs, size=N_SIM).T
    _, low, high = paired_difference(a, b, c, d, method=method)
    truth = probs[1] - probs[2]
    coverage = np.mean((low <= truth) & (truth <= high))
    assert COVERAGE_LOW <= coverage <= COVERAGE_HIGH, coverage


@pytest.mark.parametrize("method", METHODS)
def test_coverage_by_simulation_of_crn_runs(method):
    # Per-run outcomes coupled like common random numbers (B reuses A's uniform 70 % of the time), counted with
    # paired_counts; p_A = 0.2, p_B = 0.3. Exact coverage at n = 100: 0.954 (Newcombe), 0.952 (Tango).
    rng = np.random.default_rng(20251014)
    x_a, x_b = crn_runs(rng, 0.2, 0.3, 0.7, (N_SIM, 100))
    _, low, high = paired_difference(*paired_counts(x_a, x_b), method=method)
    coverage = np.mean((low <= -0.1) & (-0.1 <= high))
    assert COVERAGE_LOW <= coverage <= COVERAGE_HIGH, coverage


@pytest.mark.parametrize("method", METHODS)
def test_exact_coverage(method):
    # Coverage summed over every table of n = 40 pairs with its multinomial probability: no sampling error. The
    # values are 0.950-0.958; the bounds [0.94, 0.98] guard against a regression of the method, not noise.
    n = 40
    grid = np.array(np.meshgrid(*[np.arange(n + 1)] * 3, indexing="ij")).reshape(3, -1)
    a, b, c = grid[:, grid.sum(axis=0) <= n]
    d = n - a - b - c
    _, low, high = paired_difference(a, b, c, d, method=method)
    for setting in [(0.3, 0.3, 0.0), (0.6, 0.5, 0.2), (0.2, 0.3, None)]:
        if setting[2] is None:  # the CRN coupling above, sharing 70 %
            both = 0.7 * 0.2 + 0.3 * 0.2 * 0.3
            probs = np.array([both, 0.2 - both, 0.3 - both, 0.5 + both])
        else:
            probs = cells(*setting)
        weight = stats.multinomial.pmf(np.stack([a, b, c, d], axis=-1), n, probs)
        truth = probs[1] - probs[2]
        coverage = weight[(low <= truth) & (truth <= high)].sum()
        assert 0.94 <= coverage <= 0.98, (setting, coverage)


# ---------------------------------------------------------------------------------------------------------------
# Variance reduction of pairing
# ---------------------------------------------------------------------------------------------------------------


def test_binary_variance_reduction_by_hand_and_edges():
    a, b, c, d = CAVO
    n = a + b + c + d
    p_a, p_b = (a + b) / n, (a + c) / n
    factor, var_ind, var_pair = binary_variance_reduction(*CAVO)
    assert var_ind == pytest.approx(p_a * (1 - p_a) + p_b * (1 - p_b))
    assert var_pair == pytest.approx((b + c) / n - ((b - c) / n) ** 2)
    assert factor == pytest.approx(var_ind / var_pair)
    # runs needed without pairing over runs needed with it is the factor (up to rounding up)
    ratio = runs_needed(var_ind, 0.001) / runs_needed(var_pair, 0.001)
    assert ratio == pytest.approx(factor, rel=1e-4)
    assert binary_variance_reduction(30, 0, 0, 20).factor == np.inf  # arms agree in every run, outcome varies
    assert np.isnan(binary_variance_reduction(50, 0, 0, 0).factor)  # neither arm varies
    assert np.isnan(binary_variance_reduction(0, 50, 0, 0).factor)  # A always, B never: no variance either
    assert np.isnan(binary_variance_reduction(0, 0, 0, 0).factor)
    arrays = binary_variance_reduction([59, 30], [6, 0], [16, 0], [80, 20])
    assert arrays.factor[0] == pytest.approx(factor) and arrays.factor[1] == np.inf


def test_binary_variance_reduction_is_one_for_independent_arms():
    # M batches of n independent pairs. Derivation of the tolerance: the factor is 1 / (1 - 2 C / V) with C
    # the plug-in covariance of the pair (mean 0 for independent arms, variance sA^2 sB^2 / n) and V the sum of
    # the arms' variances; so E[factor] - 1 ~ 4 E[C^2] / V^2 = 4 sA^2 sB^2 / (n V^2) <= 1 / n. Allow that bias
    # twice over, plus 3 Monte Carlo standard errors of the mean of M factors.
    rng = np.random.default_rng(99)
    m, n = 400, 1000
    x_a, x_b = rng.random((m, n)) < 0.3, rng.random((m, n)) < 0.6
    factor = binary_variance_reduction(*paired_counts(x_a, x_b)).factor
    tolerance = 3 * factor.std(ddof=1) / np.sqrt(m) + 2 / n
    assert abs(factor.mean() - 1) < tolerance, (factor.mean(), tolerance)


def test_binary_variance_reduction_is_large_for_correlated_arms():
    # B reuses A's uniform 95 % of the time: correlation about 0.9, so the factor is near 1 / (1 - 0.9) = 10.
    rng = np.random.default_rng(5)
    x_a, x_b = crn_runs(rng, 0.30, 0.33, 0.95, (20, 2000))
    factor = binary_variance_reduction(*paired_counts(x_a, x_b)).factor
    assert (factor > 5).all(), factor


# ---------------------------------------------------------------------------------------------------------------
# Continuous outcomes and planning
# ---------------------------------------------------------------------------------------------------------------


def correlated_normals(rng, rho, shape):
    """Two standard normal samples with correlation rho, with A's mean 0.3 above B's."""
    u, v = rng.standard_normal(shape), rng.standard_normal(shape)
    return u + 0.3, rho * u + np.sqrt(1 - rho * rho) * v


@pytest.mark.parametrize("z", [Z95, 2.5758293035489])
def test_paired_mean_difference_equals_scipy_paired_t(z):
    rng = np.random.default_rng(3)
    x_a, x_b = correlated_normals(rng, 0.6, 25)
    result = paired_mean_difference(x_a, x_b, z=z)
    reference = stats.ttest_rel(x_a, x_b).confidence_interval(confidence_level=2 * stats.norm.cdf(z) - 1)
    assert result.estimate == pytest.approx(np.mean(x_a - x_b))
    assert result.low == pytest.approx(reference.low) and result.high == pytest.approx(reference.high)
    assert result.var_paired == pytest.approx(np.var(x_a - x_b, ddof=1))
    assert result.factor == pytest.approx((np.var(x_a, ddof=1) + np.var(x_b, ddof=1)) / np.var(x_a - x_b, ddof=1))


def test_paired_mean_difference_arrays_and_edges():
    rng = np.random.default_rng(4)
    x_a, x_b = correlated_normals(rng, 0.5, (3, 40))
    rows = paired_mean_difference(x_a, x_b)
    columns = paired_mean_difference(x_a.T, x_b.T, axis=0)
    for i in range(3):
        single = paired_mean_difference(x_a[i], x_b[i])
        np.testing.assert_allclose([x[i] for x in rows], single)
        np.testing.assert_allclose([x[i] for x in columns], single)
    constant = paired_mean_difference([1.0, 2.0, 4.0], [0.5, 1.5, 3.5])  # every pair differs by 0.5
    assert constant.estimate == constant.low == constant.high == pytest.approx(0.5) and constant.factor == np.inf
    assert np.isnan(paired_mean_difference([1.0, 1.0], [1.0, 1.0]).factor)
    with pytest.raises(ValueError, match="at least two"):
        paired_mean_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="different shapes"):
        paired_mean_difference([1.0, 2.0], [1.0, 2.0, 3.0])


def test_paired_t_coverage_and_variance_reduction():
    # Normal pairs, so the t-interval is exact: coverage within 3 binomial standard errors of 0.95 either way.
    rng = np.random.default_rng(8)
    x_a, x_b = correlated_normals(rng, 0.8, (N_SIM, 20))
    result = paired_mean_difference(x_a, x_b)
    coverage = np.mean((result.low <= 0.3) & (0.3 <= result.high))
    assert abs(coverage - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / N_SIM), coverage
    # rho = 0.8 with unit variances: factor 2 / (2 - 2 * 0.8) = 5 in expectation (median of ratios, n = 20)
    assert 4 < np.median(result.factor) < 6
    # independent arms: mean factor 1 up to 3 standard errors and the O(1/n) bias of a ratio, n = 200
    x_a, x_b = correlated_normals(rng, 0.0, (400, 200))
    factor = paired_mean_difference(x_a, x_b).factor
    assert abs(factor.mean() - 1) < 3 * factor.std(ddof=1) / 20 + 2 / 200, factor.mean()


def test_runs_needed():
    assert runs_needed(0.25, 0.01) == 9604  # the textbook worst case of a proportion: 1.96^2 / 4 / 0.01^2
    n = runs_needed(np.array([0.1, 0.5, 2.0]), 0.02)
    half = Z95 * np.sqrt(np.array([0.1, 0.5, 2.0]) / n)
    half_one_fewer = Z95 * np.sqrt(np.array([0.1, 0.5, 2.0]) / (n - 1))
    assert (half <= 0.02).all() and (half_one_fewer > 0.02).all()
    assert n.dtype == np.int64
    assert runs_needed(0.0, 0.1) == 2
    np.testing.assert_array_equal(runs_needed(0.25, [0.1, 0.01]), [97, 9604])
    for variance, eps in [(-1.0, 0.1), (np.nan, 0.1), (np.inf, 0.1), (1.0, 0.0)]:
        with pytest.raises(ValueError):
            runs_needed(variance, eps)
