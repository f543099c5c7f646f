"""Compiled conditions as closures over (values, now, event_times), and when a time comparison can next flip."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from escalsim.scenario.conditions.base import Fn, Values


class Code(NamedTuple):
    """A compiled subexpression; kind 'const', 'var' or 'var_op' (value (op, name, k): op(variable name,
    constant k)) lets parents specialise."""

    fn: Fn
    kind: str = "any"
    value: Any = None


def const(value: Any) -> Code:
    """A constant subexpression."""
    return Code(lambda v, t, e: value, "const", value)


def var(name: str) -> Code:
    """A subexpression reading variable `name`."""
    return Code(lambda v, t, e: v[name], "var", name)


def folded(fn: Fn, parts: Iterable[Code]) -> Code:
    """Wrap ``fn``, evaluating it now if every part is a constant."""
    if all(part.kind == "const" for part in parts):
        return const(fn({}, math.nan, {}))
    return Code(fn)


def safe_div(a: Any, b: Any) -> float:
    """IEEE division: x/0 is +-inf by the signs of x and 0, 0/0 and nan/0 are nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def binary(op: Callable[[Any, Any], Any], a: Code, b: Code) -> Code:
    """``op(a, b)``, folded to a constant when both sides are constants."""
    code = folded(_binary_fn(op, a, b), (a, b))
    if a.kind == "var" and b.kind == "const":
        return Code(code.fn, "var_op", (op, a.value, b.value))
    return code


def _var_compared_to_const(op: Callable[[Any, Any], Any], name: str, k: Any) -> Fn | None:
    """``variable OP constant`` with the operator written out (no call of ``op``): the commonest condition,
    re-checked on every change of its variable. None for an operator that is not a comparison."""
    if op is operator.ge:
        return lambda v, t, e: v[name] >= k
    if op is operator.gt:
        return lambda v, t, e: v[name] > k
    if op is operator.le:
        return lambda v, t, e: v[name] <= k
    if op is operator.lt:
        return lambda v, t, e: v[name] < k
    if op is operator.eq:
        return lambda v, t, e: v[name] == k
    if op is operator.ne:
        return lambda v, t, e: v[name] != k
    return None


def _binary_fn(op: Callable[[Any, Any], Any], a: Code, b: Code) -> Fn:
    """The closure for ``op(a, b)``, reading variables and constants directly."""
    if a.kind == "var" and b.kind == "const":
        name, k = a.value, b.value
        return _var_compared_to_const(op, name, k) or (lambda v, t, e: op(v[name], k))
    if a.kind == "const" and b.kind == "var":
        k, name = a.value, b.value
        return lambda v, t, e: op(k, v[name])
    if a.kind == "var" and b.kind == "var":
        x, y = a.value, b.value
        return lambda v, t, e: op(v[x], v[y])
    if a.kind == "var":  # e.g. x >= 3000 + 2000 * y: the variable read here, not by a call
        name, g = a.value, b.fn
        return lambda v, t, e: op(v[name], g(v, t, e))
    if b.kind == "var":
        f, name = a.fn, b.value
        return lambda v, t, e: op(f(v, t, e), v[name])
    f, g = a.fn, b.fn
    if b.kind == "const":  # e.g. (x + y) >= 10000
        k = b.value
        return lambda v, t, e: op(f(v, t, e), k)
    if a.kind == "const":
        k = a.value
        return lambda v, t, e: op(k, g(v, t, e))
    return lambda v, t, e: op(f(v, t, e), g(v, t, e))


def chain_fn(ops: Sequence[Callable], codes: Sequence[Code]) -> Fn:
    """``a < b <= c``: every pair holds, each operand evaluated at most once."""
    first, pairs = codes[0].fn, tuple(zip(ops, (code.fn for code in codes[1:])))

    def chain(v: Values, t: float, e: Values) -> bool:
        x = first(v, t, e)
        for op, g in pairs:
            y = g(v, t, e)
            if not op(x, y):
                return False
            x = y
        return True

    return chain


def bool_op_fn(is_and: bool, codes: Sequence[Code]) -> Fn:
    """``a and b and ...`` (or ``or``) over two or more subexpressions, left to right, stopping as Python does;
    an operand ``variable OP constant`` is evaluated in the same frame (one Python call less per check)."""
    if len(codes) > 2:
        return bool_op_fn(is_and, [codes[0], Code(bool_op_fn(is_and, codes[1:]))])
    a, b = codes
    if a.kind != "var_op" and b.kind != "var_op":
        return and_fn([a.fn, b.fn]) if is_and else or_fn([a.fn, b.fn])
    if a.kind == "var_op" and b.kind == "var_op":
        (op1, x, k1), (op2, y, k2) = a.value, b.value
        if is_and:
            return lambda v, t, e: op1(v[x], k1) and op2(v[y], k2)
        return lambda v, t, e: op1(v[x], k1) or op2(v[y], k2)
    if a.kind == "var_op":
        (op1, x, k1), g = a.value, b.fn
        if is_and:
            return lambda v, t, e: op1(v[x], k1) and g(v, t, e)
        return lambda v, t, e: op1(v[x], k1) or g(v, t, e)
    f, (op2, y, k2) = a.fn, b.value
    if is_and:
        return lambda v, t, e: f(v, t, e) and op2(v[y], k2)
    return lambda v, t, e: f(v, t, e) or op2(v[y], k2)


def and_fn(fns: Sequence[Fn]) -> Fn:
    """``f and g and ...`` over two or more closures, left to right, stopping at the first false value."""
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: f(v, t, e) and g(v, t, e)
    head, rest = fns[0], and_fn(fns[1:])
    return lambda v, t, e: head(v, t, e) and rest(v, t, e)


def or_fn(fns: Sequence[Fn]) -> Fn:
    """``f or g or ...`` over two or more closures, left to right, stopping at the first true value."""
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: f(v, t, e) or g(v, t, e)
    head, rest = fns[0], or_fn(fns[1:])
    return lambda v, t, e: head(v, t, e) or rest(v, t, e)


def call_fn(func: Callable, codes: Sequence[Code]) -> Fn:
    """A closure calling `func` on the values of `codes`."""
    fns = tuple(code.fn for code in codes)
    if len(fns) == 1:
        (f,) = fns
        return lambda v, t, e: func(f(v, t, e))
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: func(f(v, t, e), g(v, t, e))
    return lambda v, t, e: func(*[f(v, t, e) for f in fns])


def unary_fn(op: type[ast.unaryop], code: Code) -> Fn:
    """A closure for ``not x`` (ast.Not), ``-x`` (ast.USub) or ``+x`` (any other op) of `code`."""
    f = code.fn
    if op is ast.Not:
        return lambda v, t, e: not f(v, t, e)
    if op is ast.USub:
        return lambda v, t, e: -f(v, t, e)
    return lambda v, t, e: +f(v, t, e)


class Atom(NamedTuple):
    """``day OP k`` (or ``days_since(event) OP k``), normalised with day on the left."""

    k: Fn
    event: str | None
    flips_at_k: bool
    flips_after_k: bool
    constant: Any = None  # k, when it is a constant and there is no event (``day OP 60``): the atom flips on fixed days


def time_fn(op: Callable, k: Code, event: str | None) -> Fn:
    """A closure for ``day OP k``, or ``days_since(event) OP k`` (false until the event has happened)."""
    kf = k.fn
    if event is None and k.kind == "const":
        kv = k.value
        return lambda v, t, e: op(t, kv)
    if event is None:
        return lambda v, t, e: op(t, kf(v, t, e))

    def since(v: Values, t: float, e: Values) -> bool:
        start = e.get(event)
        return start is not None and op(t, kf(v, t, e) + start)

    return since


def _never(values: Values, now: float, event_times: Values) -> float:
    return math.inf


def next_change_fn(atoms: tuple[Atom, ...]) -> Callable[[Values, float, Values], float]:
    """A function (values, now, event_times) -> the earliest day after now when an atom may flip.

    It returns inf when none can (always, if there are no atoms)."""
    if not atoms:
        return _never

    def next_change(values: Values, now: float, event_times: Values) -> float:
        best = math.inf
        for atom in atoms:
            best = min(best, _atom_change(atom, values, now, event_times))
        return best

    return next_change


def fixed_wake_days(atoms: Sequence[Atom]) -> tuple[float, ...] | None:
    """Every day after which ``next_change`` may be asked to wake the condition, in increasing order, when they
    do not depend on the run (each atom compares ``day`` with a constant): then ``next_change(v, now, e)`` is the
    first of these after ``now`` (inf if none). None if some atom reads state or an event."""
    days = set()
    for atom in atoms:
        k = atom.constant
        if atom.event is not None or k is None:
            return None
        if atom.flips_at_k:
            days.add(k)
        if atom.flips_after_k:
            days.add(math.nextafter(k, math.inf))
    return tuple(sorted(d for d in days if d == d and d < math.inf))


def _atom_change(atom: Atom, values: Values, now: float, event_times: Values) -> float:
    """Earliest t > now where ``day OP k`` may flip; inf if never (nan k, event not yet)."""
    k = atom.k(values, now, event_times)
    if atom.event is not None:
        start = event_times.get(atom.event)
        if start is None:
            return math.inf
        k = k + start
    if atom.flips_at_k and k > now:
        return k
    after = math.nextafter(k, math.inf)
    if atom.flips_after_k and after > now:
        return after
    return math.inf
