"""Keyed random streams: uniforms from BLAKE2b-512 in counter mode, one stream per (seed, run, component key)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from hashlib import blake2b
from operator import index
from typing import Protocol

_MAX_UINT64 = 2**64 - 1
_DOMAIN = b"escalsim.stream\x00"  # 16 bytes opening every hashed message: separates ours from any other use


_unpack_block = struct.Struct("<8Q").unpack  # a 64-byte BLAKE2b-512 digest -> its 8 little-endian words


_COUNTER_0 = (0).to_bytes(8, "little")


class RandomSource(Protocol):
    """What a sampler draws from: a :class:`Stream`, or anything else with ``random()`` in [0, 1)."""

    def random(self) -> float:
        """A uniform draw in [0, 1)."""


class Stream:
    """A component's random stream (from :func:`stream` or :func:`run_streams`).

    ``random()`` returns uniform ``i`` (0, 1, 2, ...) of the stream: word ``i % 8`` of block ``i // 8``
    (see :func:`stream_block`) as ``(w >> 11) * 2**-53``.  A plain method taking the next of the current block's
    words from an iterator (``next`` with a default: no index to keep): whole runs were faster with it than with
    a C-level ``random`` (the ``__next__`` of a chain of lazy per-block iterators: 697 vs 753 µs per run of the
    default scenario), which costs more to create.
    """

    __slots__ = ("_words", "_j", "_base", "_key")

    def random(self) -> float:
        """The stream's next uniform, a multiple of 2**-53 in [0, 1)."""
        w = next(self._words, None)
        if w is None:  # block used up
            w = self._next_block()
        return (w >> 11) * 2.0**-53

    def _next_block(self) -> int:
        """Hash the next block, and take its first word."""
        j = self._j = self._j + 1
        h = self._base.copy()
        h.update(j.to_bytes(8, "little"))
        h.update(self._key)
        self._words = words = iter(_unpack_block(h.digest()))
        return next(words)


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


# `_check_key` memoized: runs open the streams of the same few component keys run after run, and a cached key is
# found without a Python call
_key_bytes = lru_cache(maxsize=4096)(_check_key)


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
    return run_streams(seed, run)(key)


def run_streams(seed: int, run: int, branch: str = "") -> Callable[[str], Stream]:
    """``key -> stream(seed, run, key)`` for the many components of one run: ``seed`` and ``run`` are
    checked and encoded once, not for each stream. With a ``branch``, component ``key``'s stream is that of
    the key ``key + "\\x00" + branch`` (see :func:`branch_off`)."""
    # every hashed message of the run starts with the same head: absorbed into a BLAKE2b state once, and each
    # block's hash continues a copy of it (a copy costs less than a new hash object's set-up)
    base = blake2b(_head(seed, run))
    suffix = _branch_suffix(branch) if branch else b""

    def stream_of(key: str) -> Stream:
        """The stream whose hashed messages are ``head || j || key + suffix``, with block 0 computed."""
        s = Stream()
        s._key = k = _key_bytes(key) + suffix
        h = base.copy()
        h.update(_COUNTER_0)
        h.update(k)
        s._words = iter(_unpack_block(h.digest()))
        s._j = 0
        s._base = base
        return s

    return stream_of


def _branch_suffix(branch: str) -> bytes:
    if not branch or "\x00" in branch:
        raise ValueError(f"a branch label must be a non-empty string without NUL, got {branch!r}")
    return b"\x00" + branch.encode("utf-8")


def branch_off(s: Stream, branch: str) -> None:
    """Make an open stream continue, from its next uniform on, as the stream of its key followed by a NUL byte
    and ``branch`` (from that stream's first uniform). A run forked at a moment calls it on every stream it
    opened: what was drawn before is kept, every later draw belongs to the branch. Keys are names without NUL
    bytes, so a branch's streams never coincide with another key's."""
    s._key += _branch_suffix(branch)
    h = s._base.copy()
    h.update(_COUNTER_0)
    h.update(s._key)
    s._words = iter(_unpack_block(h.digest()))
    s._j = 0
