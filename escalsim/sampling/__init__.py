"""Keyed random streams (`streams`) and the distribution samplers that draw from them (`continuous`, `discrete`;
`conversions` turns judgements into parameters). A leaf: imports nothing else from escalsim.

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

from escalsim.sampling.continuous import (
    beta,
    exponential,
    gamma,
    lognormal,
    normal,
    normal_sampler,
    pert,
    pert_sampler,
    triangular,
    triangular_sampler,
    uniform,
    uniform_sampler,
)
from escalsim.sampling.conversions import lognormal_from_90, mean_of, normal_from_90, rate_from_probability
from escalsim.sampling.discrete import bernoulli, binomial, poisson
from escalsim.sampling.streams import RandomSource, Stream, branch_off, run_streams, stream, stream_block

__all__ = [
    "RandomSource",
    "Stream",
    "bernoulli",
    "beta",
    "binomial",
    "branch_off",
    "exponential",
    "gamma",
    "lognormal",
    "lognormal_from_90",
    "mean_of",
    "normal",
    "normal_from_90",
    "normal_sampler",
    "pert",
    "pert_sampler",
    "poisson",
    "rate_from_probability",
    "run_streams",
    "stream",
    "stream_block",
    "triangular",
    "triangular_sampler",
    "uniform",
    "uniform_sampler",
]
