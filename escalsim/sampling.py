"""Keyed random streams and the distribution samplers that draw from them.

Design:

* A run is fully determined by ``(seed, run)``.  Inside a run every model
  component (``"option:seoul_lethal_aid"``, ``"treaty:..."``, ...) draws from
  its own stream, so adding or changing one component does not shift the draws
  of the others (common random numbers), and a run's draws do not depend on
  which worker runs it or in what order streams are created.
* A stream yields uniforms from BLAKE2b-512 in counter mode: block ``j`` is
  ``BLAKE2b(domain || seed || run || j || key)`` (``seed``, ``run``, ``j``
  8-byte little-endian, ``key`` UTF-8 last, so the encoding is unambiguous),
  whose 8 little-endian 64-bit words ``w`` give ``(w >> 11) * 2**-53``: 53
  random bits each, in [0, 1).  Why: seeding a ``random.Random`` per
  stream (Mersenne Twister ``init_by_array`` and first twist) cost ~5 µs, and
  a run creates ~22 streams, most of which draw 1 to 8 numbers: a stream and
  its first draw now cost ~1.0 µs instead of ~5.3 µs.  A draw costs more
  (~0.2 µs instead of ~0.03 µs: a Python method, and a hash per 8 draws), so a
  stream of more than ~30 draws costs more than before; on the default
  scenario a run's streams cost ~60 µs instead of ~120 µs.  Quality: a
  cryptographic hash of distinct messages gives uniform, independent blocks,
  across keys, runs and counters alike.  Stability: BLAKE2b is standardized
  (RFC 7693), so streams are identical on every platform and Python version.
* Samplers use only the stream's ``random()``; every distribution is a
  transform written here (not ``random.gauss``, ``gammavariate``, ...), so
  results do not change with the Python version.  Floating-point results can
  still differ in the last bit where the C library's ``log``/``exp`` do.
* Inversion samplers (uniform, triangular, normal, lognormal, exponential,
  bernoulli, and poisson/binomial with a small mean) use exactly one
  ``random()`` per call, degenerate parameters included, so a variant that
  changes their parameters stays in step with the baseline.  Rejection
  samplers (gamma, beta, pert, poisson/binomial with mean >= 10) use a
  variable number.
* Discrete samplers are exact in distribution: inversion for a mean below 10,
  else transformed rejection (Hörmann's PTRS, with a looser hat and squeeze:
  see ``_poisson_ptrs``; BTRS) with the pmf in Stirling form, free of cancellation.
* Samplers check their parameters (``ValueError`` naming the parameter):
  a bad value would otherwise loop forever or return nonsense silently.
"""

from __future__ import annotations

import inspect
import statistics
import struct
from collections.abc import Callable
from hashlib import blake2b
from math import exp, floor, inf, isfinite, log, log1p, pi, sqrt
from operator import index
from statistics import NormalDist
from typing import Protocol

__all__ = [
    "Stream",
    "bernoulli",
    "beta",
    "binomial",
    "exponential",
    "gamma",
    "lognormal",
    "lognormal_from_90",
    "mean_of",
    "normal",
    "normal_from_90",
    "pert",
    "poisson",
    "rate_from_probability",
    "run_streams",
    "stream",
    "stream_block",
    "triangular",
    "uniform",
]

_MAX_UINT64 = 2**64 - 1
# The standard normal quantile: statistics.NormalDist.inv_cdf without its argument checks and method call,
# the C accelerator where built (the same function NormalDist calls, so the same numbers).
_INV_CDF = getattr(statistics, "_normal_dist_inv_cdf", None) or (lambda p, mu, sigma: NormalDist(mu, sigma).inv_cdf(p))
_Z95 = NormalDist().inv_cdf(0.95)
_SMALL_MEAN = 10.0  # poisson/binomial switch from inversion to transformed rejection here


# --- streams -------------------------------------------------------------------------------------

_DOMAIN = b"escalsim.stream\x00"  # 16 bytes opening every hashed message: separates ours from any other use
_unpack_block = struct.Struct("<8Q").unpack  # a 64-byte BLAKE2b-512 digest -> its 8 little-endian words
_COUNTER_0 = (0).to_bytes(8, "little")


class RandomSource(Protocol):
    """What a sampler draws from: a :class:`Stream`, or anything else with ``random()`` in [0, 1)."""

    def random(self) -> float: ...


class Stream:
    """A component's random stream (from :func:`stream` or :func:`run_streams`).

    ``random()`` returns uniform ``i`` (0, 1, 2, ...) of the stream: word ``i % 8`` of block ``i // 8``
    (see :func:`stream_block`) as ``(w >> 11) * 2**-53``.  A plain method over the current block's
    words: whole runs were faster with it than with a C-level ``random`` (the ``__next__`` of a chain of
    lazy per-block iterators: 697 vs 753 µs per run of the default scenario), which costs more to create.
    """

    __slots__ = ("_words", "_i", "_j", "_head", "_key")

    def random(self) -> float:
        i = self._i
        if i == 8:  # block used up: hash the next one
            j = self._j = self._j + 1
            self._words = _unpack_block(blake2b(self._head + j.to_bytes(8, "little") + self._key).digest())
            i = 0
        self._i = i + 1
        return (self._words[i] >> 11) * 2.0**-53


def _open(head: bytes, key: bytes) -> Stream:
    """The stream whose hashed messages are ``head || j || key``, with block 0 computed."""
    s = Stream()
    s._words = _unpack_block(blake2b(head + _COUNTER_0 + key).digest())
    s._i = s._j = 0
    s._head, s._key = head, key
    return s


def _check_uint64(name: str, value: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not bool")
    value = index(value)
    if not 0 <= value <= _MAX_UINT64:
        raise ValueError(f"{name} must be in [0, 2**64 - 1], got {value}")
    return value


def _check_key(key: str) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    return key.encode("utf-8")


def _head(seed: int, run: int) -> bytes:
    """The fixed-width start of every message hashed for run ``run`` of ``seed``."""
    return _DOMAIN + _check_uint64("seed", seed).to_bytes(8, "little") + _check_uint64("run", run).to_bytes(8, "little")


def stream_block(seed: int, run: int, key: str, j: int) -> bytes:
    """Return block ``j`` (64 bytes) of component ``key``'s stream in run ``run`` of ``seed``.

    The block is BLAKE2b-512 (unkeyed) of ``domain || seed || run || j || key``: a 16-byte
    domain string, ``seed``, ``run`` and ``j`` as 8-byte little-endian integers, then ``key`` in
    UTF-8.  Every field but the last has a fixed width, so the encoding is unambiguous.  Its 8
    little-endian 64-bit words ``w`` are the stream's uniforms ``8j`` to ``8j + 7``, as
    ``(w >> 11) * 2**-53``.  This spells the scheme out; :class:`Stream` computes the same blocks.
    """
    message = _head(seed, run) + _check_uint64("j", j).to_bytes(8, "little") + _check_key(key)
    return blake2b(message).digest()


def stream(seed: int, run: int, key: str) -> Stream:
    """Return a new stream for component ``key`` in run ``run`` of ``seed``."""
    return _open(_head(seed, run), _check_key(key))


def run_streams(seed: int, run: int) -> Callable[[str], Stream]:
    """``key -> stream(seed, run, key)`` for the many components of one run: ``seed`` and ``run`` are
    checked and encoded once, not for each stream."""
    head = _head(seed, run)

    def stream_of(key: str) -> Stream:
        return _open(head, _check_key(key))

    return stream_of


# --- continuous samplers -------------------------------------------------------------------------

def _check_ordered(low: float, mode: float, high: float) -> None:
    if not low <= mode <= high:
        raise ValueError(f"need low <= mode <= high, got {low}, {mode}, {high}")


def _open_unit(r: RandomSource) -> float:
    """Uniform on (0, 1): ``random()`` with the (probability 2**-53) zero redrawn."""
    u = r.random()
    while u == 0.0:
        u = r.random()
    return u


def uniform_sampler(low: float, high: float) -> Callable[[RandomSource], float]:
    """Uniform on [low, high) as a one-argument draw function (the form the engine calls per use)."""
    span = high - low
    return lambda r: low + span * r.random()


def uniform(r: RandomSource, low: float, high: float) -> float:
    """Uniform on [low, high)."""
    return uniform_sampler(low, high)(r)


def triangular_sampler(low: float, mode: float, high: float) -> Callable[[RandomSource], float]:
    """Triangular on [low, high] peaking at ``mode``, by inversion of its CDF, as a draw function."""
    _check_ordered(low, mode, high)
    span, left, right = high - low, mode - low, high - mode

    def draw(r: RandomSource) -> float:
        u = r.random()
        if span == 0.0:
            return low
        if u * span < left:
            return low + sqrt(u * span * left)
        return high - sqrt((1.0 - u) * span * right)

    return draw


def triangular(r: RandomSource, low: float, mode: float, high: float) -> float:
    """Triangular on [low, high] peaking at ``mode``, by inversion of its CDF."""
    return triangular_sampler(low, mode, high)(r)


def pert(r: RandomSource, low: float, mode: float, high: float, lamb: float = 4.0) -> float:
    """Beta-PERT: ``low + (high - low) * Beta(1 + lamb*(mode-low)/span, 1 + lamb*(high-mode)/span)``."""
    _check_ordered(low, mode, high)
    if not 0.0 <= lamb < inf:
        raise ValueError(f"lamb must be finite and >= 0, got {lamb}")
    span = high - low
    if span == 0.0:
        return low
    x = _std_gamma_ge1(r, 1.0 + lamb * (mode - low) / span)
    y = _std_gamma_ge1(r, 1.0 + lamb * (high - mode) / span)
    return low + span * (x / (x + y))


def normal_sampler(mean: float, sd: float, log: bool = False) -> Callable[[RandomSource], float]:
    """Normal(mean, sd) by inversion (sd 0 gives ``mean``), or exp of it if ``log``, as a draw function."""
    if not sd >= 0.0:
        raise ValueError(f"sd must be >= 0, got {sd}")

    def draw(r: RandomSource) -> float:
        u = r.random()
        while u == 0.0:  # as _open_unit, inline
            u = r.random()
        return mean + sd * _INV_CDF(u, 0.0, 1.0)

    return (lambda r: exp(draw(r))) if log else draw


def normal(r: RandomSource, mean: float, sd: float) -> float:
    """Normal(mean, sd) by inversion (``statistics.NormalDist.inv_cdf``); sd 0 gives ``mean``."""
    return normal_sampler(mean, sd)(r)


def lognormal(r: RandomSource, mu: float, sigma: float) -> float:
    """exp(Normal(mu, sigma))."""
    return normal_sampler(mu, sigma, log=True)(r)


def _std_gamma_ge1(r: RandomSource, shape: float) -> float:
    """Gamma(shape, 1) for shape >= 1: Marsaglia & Tsang (2000)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / sqrt(9.0 * d)
    while True:
        x = _INV_CDF(_open_unit(r), 0.0, 1.0)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - r.random()  # (0, 1]: log(u) is finite
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or log(u) < 0.5 * x2 + d * (1.0 - v + log(v)):
            return d * v


def _log_std_gamma(r: RandomSource, shape: float) -> float:
    """log Gamma(shape, 1); for shape < 1 uses log G(shape+1) + log(U)/shape, free of underflow."""
    if shape >= 1.0:
        return log(_std_gamma_ge1(r, shape))
    g = _std_gamma_ge1(r, shape + 1.0)
    return log(g) + log(1.0 - r.random()) / shape


def gamma(r: RandomSource, shape: float, scale: float) -> float:
    """Gamma with ``shape`` > 0 and ``scale`` >= 0 (mean shape*scale).

    Marsaglia-Tsang; for shape < 1, ``G(shape+1) * U**(1/shape)``, which
    underflows to 0.0 only where the true value is below ~1e-308.
    """
    if not shape > 0.0:
        raise ValueError(f"shape must be > 0, got {shape}")
    if not scale >= 0.0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    if shape >= 1.0:
        return scale * _std_gamma_ge1(r, shape)
    g = _std_gamma_ge1(r, shape + 1.0)
    return scale * g * (1.0 - r.random()) ** (1.0 / shape)


def beta(r: RandomSource, a: float, b: float) -> float:
    """Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b); in log space when a or b < 1."""
    if not a > 0.0:
        raise ValueError(f"a must be > 0, got {a}")
    if not b > 0.0:
        raise ValueError(f"b must be > 0, got {b}")
    if a >= 1.0 and b >= 1.0:
        x = _std_gamma_ge1(r, a)
        return x / (x + _std_gamma_ge1(r, b))
    d = _log_std_gamma(r, b) - _log_std_gamma(r, a)  # X/(X+Y) = 1/(1 + exp(d))
    if d > 0.0:
        t = exp(-d)
        return t / (1.0 + t)
    return 1.0 / (1.0 + exp(d))


def exponential(r: RandomSource, rate: float) -> float:
    """Exponential with ``rate`` >= 0 by inversion, ``-log(1-u)/rate``; rate 0 gives ``inf``."""
    if not rate >= 0.0:
        raise ValueError(f"rate must be >= 0, got {rate}")
    u = r.random()
    if rate == 0.0:
        return inf
    return -log1p(-u) / rate


def bernoulli(r: RandomSource, p: float) -> bool:
    """True with probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    return r.random() < p


# --- discrete samplers ---------------------------------------------------------------------------

# log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2] for k = 0..9 (computed to 40 digits).
_STIRLING_TAIL = (
    0.08106146679532726, 0.0413406959554093, 0.02767792568499834, 0.020790672103765093,
    0.016644691189821193, 0.013876128823070748, 0.01189670994589177, 0.010411265261972096,
    0.009255462182712733, 0.00833056343336287,
)


def _stirling_tail(k: int) -> float:
    """log k! minus its Stirling approximation at k + 1 (series error < 1e-14 for k >= 10)."""
    if k < 10:
        return _STIRLING_TAIL[k]
    n = k + 1.0
    w = 1.0 / (n * n)
    if k >= 1000:  # the terms dropped here are below 1e-18
        return (1 / 12 - w / 360) / n
    return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - w / 1188) * w) * w) * w) / n


def _poisson_inversion(r: RandomSource, lam: float) -> int:
    """Poisson by sequential search of the CDF (one draw; redrawn only if rounding leaves u past it)."""
    e = exp(-lam)
    while True:
        u = r.random()
        k = 0
        pk = s = e
        while u > s and pk > 0.0:
            k += 1
            pk *= lam / k
            s += pk
        if u <= s:
            return k


def _poisson_ptrs(r: RandomSource, lam: float) -> int:
    """Poisson for lam >= 10: transformed rejection with squeeze, PTRS (Hörmann 1993).

    With the published constants the pmf pokes above the hat by up to 0.6% (lam near 14)
    and the squeeze above the pmf by up to 0.6% (lam near 30), in thin slices: biases of
    ~1e-5 in some probabilities.  A hat 1% higher and a squeeze 2% lower make the method
    exact: checked at the ends of every value's interval for lam from 10 to 1e9, and
    measured by integration in the tests.
    """
    b = 0.931 + 2.53 * sqrt(lam)
    a = -0.059 + 0.02483 * b
    v_r = 0.98 * (0.9277 - 3.6224 / (b - 2.0))
    c0 = None  # constant of the exact test, computed when first needed
    while True:
        u = r.random() - 0.5
        v = 1.0 - r.random()
        us = 0.5 - abs(u)
        if us == 0.0:
            continue
        k = floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if c0 is None:
            inv_alpha = 1.01 * (1.1239 + 1.1328 / (b - 3.4))
            c0 = 1.0 - lam - 0.5 * log(2.0 * pi * lam) - log(inv_alpha)
        # log(pmf(k) / inv_alpha), pmf(k) = exp(-lam) lam**k / k! in Stirling form (no cancellation)
        log_pmf = (k + 0.5) * log(lam / (k + 1)) + k + c0 - _stirling_tail(k)
        if log(v) - log(a / (us * us) + b) <= log_pmf:
            return k


def poisson(r: RandomSource, lam: float) -> int:
    """Poisson(lam), exact: inversion for lam < 10, PTRS (Hörmann 1993) above."""
    if not 0.0 <= lam < inf:
        raise ValueError(f"lam must be finite and >= 0, got {lam}")
    if lam < _SMALL_MEAN:
        return _poisson_inversion(r, lam)
    return _poisson_ptrs(r, lam)


def _binomial_inversion(r: RandomSource, n: int, p: float) -> int:
    """Binomial(n, p <= 1/2) by sequential search (BINV); one draw unless rounding defeats it."""
    q = 1.0 - p
    s = p / q
    a = (n + 1) * s
    qn = exp(n * log1p(-p))
    while True:
        u = r.random()
        k = 0
        f = qn
        while u > f:
            u -= f
            k += 1
            f *= a / k - s
            if f <= 0.0:  # past n, or underflow: rounding left u beyond the CDF
                break
        else:
            return k


def _binomial_btrs(r: RandomSource, n: int, p: float) -> int:
    """Binomial(n, p <= 1/2) with n*p >= 10: transformed rejection, BTRS (Hörmann 1993).

    The published constants are exact: hat above and squeeze below the pmf by at least 0.4%,
    checked at the ends of every value's interval for n*p from 10 to 1e7, p from 1e-4 to 1/2.
    """
    q = 1.0 - p
    spq = sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    odds = p / q
    m = floor((n + 1) * p)
    h = None  # constant of the exact test, computed when first needed
    while True:
        u = r.random() - 0.5
        v = 1.0 - r.random()
        us = 0.5 - abs(u)
        if us == 0.0:
            continue
        k = floor((2.0 * a / us + b) * u + c)
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or k > n:
            continue
        if h is None:
            h = ((m + 0.5) * log((m + 1) / (odds * (n - m + 1)))
                 + _stirling_tail(m) + _stirling_tail(n - m) - log((2.83 + 5.1 / b) * spq))
        # log(pmf(k) / (pmf(m) * alpha)) in Stirling form (no large cancelling terms):
        # h + (n+1) log((n-m+1)/(n-k+1)) + (k+1/2) log(odds (n-k+1)/(k+1)) - tail(k) - tail(n-k)
        log_ratio = (h + (n + 1) * log1p((k - m) / (n - k + 1))
                     + (k + 0.5) * log(odds * (n - k + 1) / (k + 1))
                     - _stirling_tail(k) - _stirling_tail(n - k))
        if log(v) - log(a / (us * us) + b) <= log_ratio:
            return k


def binomial(r: RandomSource, n: int, p: float) -> int:
    """Binomial(n, p), exact: inversion when n*min(p, 1-p) < 10, BTRS (Hörmann 1993) above."""
    n = index(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if p > 0.5:  # sample the number of failures; 1 - p is exact here
        q = 1.0 - p
        if n * q < _SMALL_MEAN:
            return n - _binomial_inversion(r, n, q)
        return n - _binomial_btrs(r, n, q)
    if n * p < _SMALL_MEAN:
        return _binomial_inversion(r, n, p)
    return _binomial_btrs(r, n, p)


# --- parameters from judgements ------------------------------------------------------------------

def normal_from_90(low: float, high: float) -> tuple[float, float]:
    """(mean, sd) of the normal with 5% and 95% quantiles ``low`` and ``high``."""
    if not (isfinite(low) and isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got {low}, {high}")
    return (low + high) / 2.0, (high - low) / (2.0 * _Z95)


def lognormal_from_90(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with 5% and 95% quantiles ``low`` and ``high``."""
    if not (0.0 < low < high < inf):
        raise ValueError(f"need 0 < low < high < inf, got {low}, {high}")
    return normal_from_90(log(low), log(high))


def rate_from_probability(p: float, days: float) -> float:
    """Rate λ with 1 - exp(-λ days) = p: λ = -ln(1 - p)/days; p = 1 gives ``inf``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not 0.0 < days < inf:
        raise ValueError(f"days must be finite and > 0, got {days}")
    if p == 1.0:
        return inf
    return -log1p(-p) / days


# --- means ---------------------------------------------------------------------------------------

def _mean_triangular(low: float, mode: float, high: float) -> float:
    _check_ordered(low, mode, high)
    return (low + mode + high) / 3.0


def _mean_pert(low: float, mode: float, high: float, lamb: float = 4.0) -> float:
    _check_ordered(low, mode, high)
    return (low + lamb * mode + high) / (lamb + 2.0)


_MEANS = {
    "fixed": lambda value: value,
    "uniform": lambda low, high: (low + high) / 2.0,
    "triangular": _mean_triangular,
    "pert": _mean_pert,
    "normal": lambda mean, sd: mean,
    "lognormal": lambda mu, sigma: exp(mu + sigma * sigma / 2.0),
    "gamma": lambda shape, scale: shape * scale,
    "beta": lambda a, b: a / (a + b),
    "exponential": lambda rate: inf if rate == 0 else 1.0 / rate,
    "poisson": lambda lam: lam,
    "binomial": lambda n, p: n * p,
    "bernoulli": lambda p: p,
}
_MEAN_SIGNATURES = {kind: inspect.signature(fn) for kind, fn in _MEANS.items()}


def mean_of(kind: str, **params: float) -> float:
    """Mean of distribution ``kind`` with the samplers' parameter names (``'fixed'`` takes ``value``)."""
    try:
        signature = _MEAN_SIGNATURES[kind]
    except KeyError:
        raise ValueError(f"unknown distribution kind {kind!r}; "
                         f"expected one of {', '.join(sorted(_MEANS))}") from None
    try:
        signature.bind(**params)
    except TypeError as err:
        raise ValueError(f"{kind} takes parameters ({', '.join(signature.parameters)}): {err}") from None
    return float(_MEANS[kind](**params))
