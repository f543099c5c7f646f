"""Condition expressions: scenario text parsed once into fast evaluate/next_change closures."""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

MAX_LENGTH = 1000
MAX_DEPTH = 50
FUNCTIONS = ("min", "max", "abs", "rung", "days_since", "happened")
ALLOWED = (
    "allowed: numbers, variable names, + - * /, comparisons, and/or/not, "
    "min/max/abs/rung/days_since/happened"
)

Values = dict[str, float]
Fn = Callable[[Values, float, Values], Any]

_BOOLS = {"true": True, "false": False, "True": True, "False": False}
_STRING_FUNCTIONS = {"rung": "rung", "days_since": "event", "happened": "event"}
_NUMERIC_FUNCTIONS = {"min": (min, 2, None), "max": (max, 2, None), "abs": (abs, 1, 1)}
_TIME_RULE = (
    "{term} can only be one side of a single comparison whose other side does not use "
    "time, e.g. day >= 60 or days_since('x') > 30 (not in arithmetic, function "
    "arguments, chained comparisons or alone as a condition)"
)


class ExprError(ValueError):
    """A bad expression: .message (what is wrong, what is allowed), .column (0-based, or None)."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __reduce__(self) -> tuple:
        return (type(self), (self.message, self.column))


@dataclass(frozen=True)
class Expr:
    """A parsed condition; ``evaluate(values, now, event_times)`` gives its value."""

    text: str
    variables: frozenset[str]
    events: frozenset[str]
    uses_time: bool
    evaluate: Fn = field(repr=False, compare=False)
    next_change: Callable[[Values, float, Values], float] = field(repr=False, compare=False)


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name`` (a likely typo), or None."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def parse(
    text: str, *, variables: Collection[str], events: Collection[str], rungs: Sequence[str]
) -> Expr:
    """Parse and compile ``text``; raise ExprError if it is not a valid condition.

    Grammar (a whitelist over Python expression syntax, walked with ``ast``, never run by
    Python): numbers, ``true``/``false``, variable names, ``level``, ``day``, ``+ - * /``,
    unary ``- +``, comparisons ``< <= > >= == !=`` (chains allowed), ``and``/``or``/``not``,
    parentheses and ``min max abs rung days_since happened``. Newlines count as spaces.

    * ``and``/``or``/``not`` and truthiness are Python's; division by zero gives IEEE
      results (``1/0`` is inf, ``-1/0`` is -inf, ``0/0`` is nan).
    * ``day`` is the current simulation day; ``days_since('e')`` is ``day`` minus the day
      event ``e`` first happened. Time terms may only be one side of a single comparison
      whose other side does not use time (``day >= 60``, ``days_since('e') > deadline``),
      so ``Expr.next_change`` can say exactly when the value may change.
    * Before its event has happened ``days_since('e')`` counts as nan: **every** comparison
      with it is false, ``!=`` included. ``days_since('e') >= k`` is evaluated as
      ``day >= k + t_e`` so that evaluation agrees to the last bit with ``next_change``.
    * ``day``, ``true``, ``false``, ``True`` and ``False`` are reserved and win over
      variables of the same name; ``level`` is always a variable.
    """
    source, lead = _prepare(text)
    tree = _parse_ast(source, lead)
    compiler = _Compiler(source, lead, variables, events, rungs)
    compiler.check_no_comment(tree.body)
    code = compiler.visit(tree.body, 1)
    return Expr(
        text=text,
        variables=frozenset(compiler.names),
        events=frozenset(compiler.events_used),
        uses_time=bool(compiler.atoms),
        evaluate=code.fn,
        next_change=_next_change_fn(tuple(compiler.atoms)),
    )


# --- text checks before parsing ------------------------------------------------------


def _prepare(text: Any) -> tuple[str, int]:
    """Check type, length, emptiness and bracket depth; return one-line source and its offset."""
    if not isinstance(text, str):
        raise ExprError(f"a condition must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is too long ({len(text)} characters; limit {MAX_LENGTH})")
    one_line = text.replace("\r", " ").replace("\n", " ")
    source = one_line.lstrip()
    if not source.strip():
        raise ExprError("expression is empty")
    lead = len(one_line) - len(source)
    _check_bracket_depth(source, lead)
    return source, lead


def _check_bracket_depth(source: str, lead: int) -> None:
    """Reject more than MAX_DEPTH nested brackets (roughly skipping quoted strings)."""
    depth, quote, escaped = 0, None, False
    for i, char in enumerate(source):
        if quote:
            if char == quote and not escaped:
                quote = None
            escaped = char == "\\" and not escaped
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExprError(_too_deep(), lead + i)
        elif char in ")]}":
            depth -= 1


def _too_deep() -> str:
    return f"expression is nested too deeply (limit {MAX_DEPTH} levels)"


def _parse_ast(source: str, lead: int) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise ExprError(_syntax_message(err) + _syntax_hint(source), _syntax_column(err, source, lead)) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as err:
        raise ExprError(f"invalid syntax: {err}") from None


def _syntax_message(err: SyntaxError) -> str:
    detail = err.msg or ""
    return "invalid syntax" if detail in ("", "invalid syntax") else f"invalid syntax: {detail}"


# Habits from other languages, with what this one writes instead (checked outside quoted names)
_HABITS = ((r"&&", "write 'and' for &&"), (r"\|\|", "write 'or' for ||"), (r"!(?!=)", "write 'not' for !"),
           (r"(?<![<>=!])=(?!=)", "compare with '==', not '='"),
           (r"\b(AND|OR|NOT)\b", "write and, or, not in lower case"))


def _syntax_hint(source: str) -> str:
    """'; ' + what to write instead, for the habits of other languages that `source` shows (or '')."""
    bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", source)
    hints = [hint for pattern, hint in _HABITS if re.search(pattern, bare)]
    return f" ({'; '.join(hints)})" if hints else ""


def _syntax_column(err: SyntaxError, source: str, lead: int) -> int | None:
    if err.offset is None:
        return None
    if err.lineno != 1 or err.offset < 1:
        return lead + len(source)
    return lead + min(err.offset - 1, len(source))


# --- compiled pieces -----------------------------------------------------------------


class _Code(NamedTuple):
    """A compiled subexpression; kind 'const' or 'var' lets parents specialise."""

    fn: Fn
    kind: str = "any"
    value: Any = None


def _const(value: Any) -> _Code:
    return _Code(lambda v, t, e: value, "const", value)


def _var(name: str) -> _Code:
    return _Code(lambda v, t, e: v[name], "var", name)


def _folded(fn: Fn, parts: Iterable[_Code]) -> _Code:
    """Wrap ``fn``, evaluating it now if every part is a constant."""
    if all(part.kind == "const" for part in parts):
        return _const(fn({}, math.nan, {}))
    return _Code(fn)


def _safe_div(a: Any, b: Any) -> float:
    """IEEE division: x/0 is +-inf by the signs of x and 0, 0/0 and nan/0 are nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _binary(op: Callable[[Any, Any], Any], a: _Code, b: _Code) -> _Code:
    return _folded(_binary_fn(op, a, b), (a, b))


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


def _binary_fn(op: Callable[[Any, Any], Any], a: _Code, b: _Code) -> Fn:
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
    f, g = a.fn, b.fn
    if b.kind == "const":  # e.g. (x + y) >= 10000
        k = b.value
        return lambda v, t, e: op(f(v, t, e), k)
    if a.kind == "const":
        k = a.value
        return lambda v, t, e: op(k, g(v, t, e))
    return lambda v, t, e: op(f(v, t, e), g(v, t, e))


def _chain_fn(ops: Sequence[Callable], codes: Sequence[_Code]) -> Fn:
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


def _and_fn(fns: Sequence[Fn]) -> Fn:
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: f(v, t, e) and g(v, t, e)
    head, rest = fns[0], _and_fn(fns[1:])
    return lambda v, t, e: head(v, t, e) and rest(v, t, e)


def _or_fn(fns: Sequence[Fn]) -> Fn:
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: f(v, t, e) or g(v, t, e)
    head, rest = fns[0], _or_fn(fns[1:])
    return lambda v, t, e: head(v, t, e) or rest(v, t, e)


def _call_fn(func: Callable, codes: Sequence[_Code]) -> Fn:
    fns = tuple(code.fn for code in codes)
    if len(fns) == 1:
        (f,) = fns
        return lambda v, t, e: func(f(v, t, e))
    if len(fns) == 2:
        f, g = fns
        return lambda v, t, e: func(f(v, t, e), g(v, t, e))
    return lambda v, t, e: func(*[f(v, t, e) for f in fns])


def _unary_fn(op: type[ast.unaryop], code: _Code) -> Fn:
    f = code.fn
    if op is ast.Not:
        return lambda v, t, e: not f(v, t, e)
    if op is ast.USub:
        return lambda v, t, e: -f(v, t, e)
    return lambda v, t, e: +f(v, t, e)


# --- time comparisons and next_change ------------------------------------------------


class _Atom(NamedTuple):
    """``day OP k`` (or ``days_since(event) OP k``), normalised with day on the left."""

    k: Fn
    event: str | None
    flips_at_k: bool
    flips_after_k: bool


def _time_fn(op: Callable, k: _Code, event: str | None) -> Fn:
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


def _next_change_fn(atoms: tuple[_Atom, ...]) -> Callable[[Values, float, Values], float]:
    if not atoms:
        return _never

    def next_change(values: Values, now: float, event_times: Values) -> float:
        best = math.inf
        for atom in atoms:
            best = min(best, _atom_change(atom, values, now, event_times))
        return best

    return next_change


def _atom_change(atom: _Atom, values: Values, now: float, event_times: Values) -> float:
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


# --- the AST walk --------------------------------------------------------------------

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: _safe_div}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}
_MIRROR = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
           ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_FLIPS_AT_K = (ast.GtE, ast.Lt, ast.Eq, ast.NotEq)
_FLIPS_AFTER_K = (ast.Gt, ast.LtE, ast.Eq, ast.NotEq)
_BAD_OPERATORS = {
    ast.Pow: ("**", ""), ast.Mod: ("%", ""), ast.FloorDiv: ("//", ""),
    ast.MatMult: ("@", ""), ast.BitAnd: ("&", "; use 'and'"), ast.BitOr: ("|", "; use 'or'"),
    ast.BitXor: ("^", ""), ast.LShift: ("<<", ""), ast.RShift: (">>", ""),
    ast.Invert: ("~", "; use 'not'"), ast.In: ("in", ""), ast.NotIn: ("not in", ""),
    ast.Is: ("is", "; use '=='"), ast.IsNot: ("is not", "; use '!='"),
}
_DESCRIPTIONS = {
    "Attribute": "attribute access", "Subscript": "subscripting", "Slice": "slicing",
    "Lambda": "lambda", "IfExp": "an if-else expression", "NamedExpr": "':=' assignment",
    "List": "a list", "Tuple": "a tuple", "Set": "a set", "Dict": "a dict",
    "ListComp": "a comprehension", "SetComp": "a comprehension", "DictComp": "a comprehension",
    "GeneratorExp": "a generator expression", "JoinedStr": "an f-string",
    "FormattedValue": "an f-string", "Starred": "'*' unpacking", "Await": "await",
    "Yield": "yield", "YieldFrom": "yield",
}
_CONSTANTS = {complex: "a complex number", bytes: "a bytes literal", type(None): "None",
              type(...): "'...'"}


def _is_time(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "day"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "days_since")


def _did_you_mean(name: str, choices: Collection[str]) -> str:
    hint = suggest(name, choices)
    return "" if hint is None else f" (did you mean {hint!r}?)"


def _unknown(kind: str, name: str, choices: Collection[str]) -> str:
    message = f"unknown {kind} {name!r}"
    hint = _did_you_mean(name, choices)
    if hint:
        return message + hint
    if not choices:
        return f"{message} (no {kind}s are defined)"
    listed = ", ".join(list(choices)[:10]) + (", ..." if len(choices) > 10 else "")
    return f"{message} (known {kind}s: {listed})"


class _Compiler:
    """Walks the whitelisted AST into closures, collecting names, events and time atoms."""

    def __init__(self, source: str, lead: int, variables: Collection[str],
                 events: Collection[str], rungs: Sequence[str]):
        self.source = source.encode("utf-8")
        self.lead = lead
        self.known_variables = frozenset(variables) | {"level"}
        self.known_events = dict.fromkeys(events)
        self.rungs: dict[str, int] = {}
        for index, name in enumerate(rungs):
            self.rungs.setdefault(name, index)
        self.names: set[str] = set()
        self.events_used: set[str] = set()
        self.atoms: list[_Atom] = []

    # errors and positions

    def column(self, byte_offset: int) -> int:
        return self.lead + len(self.source[:byte_offset].decode("utf-8", "replace"))

    def error(self, node: ast.AST, message: str) -> ExprError:
        return ExprError(message, self.column(node.col_offset))

    def not_allowed(self, what: str, column: int, hint: str = "") -> ExprError:
        return ExprError(f"{what} is not allowed{hint} ({ALLOWED})", column)

    def operator_column(self, left: ast.AST, right: ast.AST, symbol: str) -> int:
        start, end = left.end_col_offset or 0, right.col_offset
        found = self.source.find(symbol.encode(), start, end)
        return self.column(found if found >= 0 else start)

    def check_operator(self, op: ast.AST, table: dict, left: ast.AST, right: ast.AST):
        if type(op) not in table:
            symbol, hint = _BAD_OPERATORS.get(type(op), (type(op).__name__, ""))
            column = self.operator_column(left, right, symbol.split()[0])
            raise self.not_allowed(f"'{symbol}'", column, hint)

    def check_no_comment(self, body: ast.expr) -> None:
        end = body.end_col_offset or 0
        rest = self.source[end:].decode("utf-8", "replace")
        stripped = rest.lstrip(" \t\f)")
        if stripped.startswith("#"):
            column = self.column(end) + len(rest) - len(stripped)
            raise ExprError("comments ('#') are not allowed", column)

    # the walk

    def visit(self, node: ast.expr, depth: int) -> _Code:
        if depth > MAX_DEPTH:
            raise self.error(node, _too_deep())
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            what = _DESCRIPTIONS.get(type(node).__name__, type(node).__name__)
            raise self.not_allowed(what, self.column(node.col_offset))
        return method(node, depth + 1)

    def visit_Constant(self, node: ast.Constant, depth: int) -> _Code:
        value = node.value
        if isinstance(value, bool):
            return _const(value)
        if isinstance(value, str):
            raise self.error(node, "strings are only allowed as the argument of "
                                   "rung(), days_since() and happened()")
        if not isinstance(value, (int, float)):
            what = _CONSTANTS.get(type(value), repr(value))
            raise self.not_allowed(what, self.column(node.col_offset))
        try:
            return _const(float(value))
        except OverflowError:
            raise self.error(node, "number is too large") from None

    def visit_Name(self, node: ast.Name, depth: int) -> _Code:
        name = node.id
        if name == "day":
            raise self.error(node, _TIME_RULE.format(term="'day'"))
        if name in _BOOLS:
            return _const(_BOOLS[name])
        if name in self.known_variables:
            self.names.add(name)
            return _var(name)
        if name in self.rungs:
            raise self.error(node, f"{name!r} is a rung, not a variable: compare the level with it, e.g. "
                                   f"level >= rung('{name}')")
        if name in self.known_events:
            raise self.error(node, f"{name!r} is an event, not a variable: test it with happened('{name}') "
                                   f"or days_since('{name}')")
        raise self.error(node, _unknown("variable", name, sorted(self.known_variables)))

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> _Code:
        if isinstance(node.op, ast.Invert):
            raise self.not_allowed("'~'", self.column(node.col_offset), "; use 'not'")
        code = self.visit(node.operand, depth)
        return _folded(_unary_fn(type(node.op), code), (code,))

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> _Code:
        self.check_operator(node.op, _ARITHMETIC, node.left, node.right)
        left, right = self.visit(node.left, depth), self.visit(node.right, depth)
        return _binary(_ARITHMETIC[type(node.op)], left, right)

    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> _Code:
        codes = [self.visit(value, depth) for value in node.values]
        make = _and_fn if isinstance(node.op, ast.And) else _or_fn
        return _folded(make([code.fn for code in codes]), codes)

    def visit_Compare(self, node: ast.Compare, depth: int) -> _Code:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:]):
            self.check_operator(op, _COMPARE, left, right)
        if len(node.ops) == 1:
            atom = self.time_comparison(node.ops[0], node.left, node.comparators[0], depth)
            if atom is not None:
                return atom
        codes = [self.visit(operand, depth) for operand in operands]
        ops = [_COMPARE[type(op)] for op in node.ops]
        if len(ops) == 1:
            return _binary(ops[0], *codes)
        return _folded(_chain_fn(ops, codes), codes)

    def time_comparison(self, op: ast.cmpop, left: ast.expr, right: ast.expr,
                        depth: int) -> _Code | None:
        """Compile ``day OP k`` or ``k OP day`` (also days_since); None if not one."""
        op_type = type(op)
        if _is_time(right) and not _is_time(left):
            left, right, op_type = right, left, _MIRROR[op_type]
        elif not _is_time(left) or _is_time(right):
            return None
        event = self.event_argument(left) if isinstance(left, ast.Call) else None
        k = self.visit(right, depth)
        self.atoms.append(_Atom(k.fn, event, op_type in _FLIPS_AT_K,
                                op_type in _FLIPS_AFTER_K))
        return _Code(_time_fn(_COMPARE[op_type], k, event))

    def visit_Call(self, node: ast.Call, depth: int) -> _Code:
        name = self.function_name(node)
        if name == "days_since":
            raise self.error(node, _TIME_RULE.format(term="days_since()"))
        if name == "rung":
            return _const(self.rungs[self.string_argument(node, "rung", self.rungs)])
        if name == "happened":
            event = self.event_argument(node)
            return _Code(lambda v, t, e: event in e)
        return self.numeric_call(node, name, depth)

    def function_name(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name):
            raise self.error(node, "only min, max, abs, rung, days_since and happened can "
                                   f"be called ({ALLOWED})")
        if node.keywords:
            raise self.not_allowed("a keyword argument",
                                   self.column(node.keywords[0].col_offset))
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.error(node, f"unknown function {name!r}{_did_you_mean(name, FUNCTIONS)}"
                                   f"; allowed functions: {', '.join(FUNCTIONS)}")
        return name

    def numeric_call(self, node: ast.Call, name: str, depth: int) -> _Code:
        func, least, most = _NUMERIC_FUNCTIONS[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = f"exactly {least}" if most == least else f"at least {least}"
            raise self.error(node, f"{name}() takes {wanted} argument(s), got {count}")
        codes = [self.visit(arg, depth) for arg in node.args]
        return _folded(_call_fn(func, codes), codes)

    def event_argument(self, node: ast.Call) -> str:
        """The event named by days_since('e') or happened('e'), checked and recorded."""
        event = self.string_argument(node, self.function_name(node), self.known_events)
        self.events_used.add(event)
        return event

    def string_argument(self, node: ast.Call, function: str, known: Collection[str]) -> str:
        kind = _STRING_FUNCTIONS[function]
        if not _is_string_literal(node.args):
            raise self.error(node, f"{function}() takes one quoted {kind} name, "
                                   f"e.g. {function}('name')")
        value = node.args[0].value
        if value not in known:
            if kind == "event" and value in self.known_variables:
                raise self.error(node.args[0], f"{value!r} is a variable, not an event: compare it instead, "
                                               f"e.g. {value} > 0")
            raise self.error(node.args[0], _unknown(kind, value, list(known)))
        return value


def _is_string_literal(args: Sequence[ast.expr]) -> bool:
    return (len(args) == 1 and isinstance(args[0], ast.Constant)
            and isinstance(args[0].value, str))
