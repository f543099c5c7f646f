"""The `escalsim` program gives the memory it frees back to the system (issue 14: peak memory that does not grow
with the run count).

Summarising a results directory reads runs.parquet one column at a time: at a million runs each column is 8 MB
of Arrow buffers, then a NumPy copy and `np.quantile`'s copy, freed before the next. The allocators keep such
blocks for reuse instead of returning them: Arrow's default pool (mimalloc) its pages, and glibc's malloc every
block below its mmap threshold, which it raises to the largest block freed (up to 32 MiB), so that 8 MB copies
soon come from a heap that never shrinks. Resident memory then grows with the run count although the data in use
does not: the summary of a million runs peaked at 320 MiB against 167 at 10,000.

`give_back_freed_memory` sets Arrow's default pool to the system allocator (the pool is chosen when pyarrow
first allocates, so this must run before pyarrow is imported: from the environment variable Arrow reads,
ARROW_DEFAULT_MEMORY_POOL) and fixes glibc's mmap threshold at 1 MiB, so a freed block of 1 MiB or more goes back
to the system at once. Measured on the summary of a million runs (docs/benchmarks.md): 224 MiB against 320. It
costs time, since returned blocks are mapped and faulted in again: that summary took 25-31 s against 16-18 s on
a loaded machine, still far below the minutes of simulating a million runs. Results never depend on it.

Only the program does this (escalsim.cli), never the package imported in someone's process: a notebook's
allocators are its owner's. A user's own ARROW_DEFAULT_MEMORY_POOL is kept. Off glibc (macOS, musl) the threshold
is left as it is.
"""

from __future__ import annotations

import os
import sys

MMAP_THRESHOLD = 1 << 20  # bytes: a freed block this large or larger goes back to the system
_M_MMAP_THRESHOLD = -3    # mallopt's parameter number (glibc's malloc.h)


def give_back_freed_memory() -> bool:
    """Make this process return freed memory to the system (see the module). Returns whether Arrow's pool could
    still be chosen (pyarrow not yet imported); the glibc threshold is set either way, where there is glibc."""
    chosen = "pyarrow" not in sys.modules
    if chosen:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    _fix_mmap_threshold()
    return chosen


def _fix_mmap_threshold() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a libc without mallopt
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
