"""The whitelist walk over Python's expression AST that turns a condition into closures (never run by Python)."""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Collection, Mapping, Sequence

from escalsim.scenario.conditions.base import (
    ALLOWED,
    BOOLS,
    FUNCTIONS,
    MAX_DEPTH,
    NUMERIC_FUNCTIONS,
    STRING_FUNCTIONS,
    TIME_RULE,
    ExprError,
    suggest,
)
from escalsim.scenario.conditions.closures import (
    Atom,
    Code,
    binary,
    bool_op_fn,
    call_fn,
    chain_fn,
    const,
    folded,
    safe_div,
    time_fn,
    unary_fn,
    var,
)
from escalsim.scenario.conditions.syntax import too_deep

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: safe_div}


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


class Compiler:
    """Walks the whitelisted AST into closures, collecting names, events and time atoms."""

    def __init__(self, source: str, lead: int, variables: Collection[str],
                 events: Collection[str], rungs: Sequence[str] | Mapping[str, int], start: dt.date | None = None):
        self.start = start
        self.source = source.encode("utf-8")
        self.lead = lead
        # a frozenset, a dict of events and a dict of rungs are used as given (read only), so that a caller
        # parsing many conditions of one scenario gathers its names once (loading stays linear in the file's size)
        self.known_variables = variables if isinstance(variables, frozenset) else frozenset(variables)
        self.known_events = events if isinstance(events, dict) else dict.fromkeys(events)
        self.rungs: dict[str, int] = rungs if isinstance(rungs, dict) else {}
        if isinstance(rungs, dict):
            pass
        elif isinstance(rungs, Mapping):  # rung id -> index on its own track
            self.rungs.update(rungs)
        else:
            for index, name in enumerate(rungs):
                self.rungs.setdefault(name, index)
        self.names: set[str] = set()
        self.events_used: set[str] = set()
        self.atoms: list[Atom] = []

    # errors and positions

    def column(self, byte_offset: int) -> int:
        """The 0-based column in the whole text of a byte offset into the source (the AST counts bytes)."""
        return self.lead + len(self.source[:byte_offset].decode("utf-8", "replace"))

    def error(self, node: ast.AST, message: str) -> ExprError:
        """An ExprError at the node's column (returned for the caller to raise)."""
        return ExprError(message, self.column(node.col_offset))

    def not_allowed(self, what: str, column: int, hint: str = "") -> ExprError:
        """An ExprError saying `what` is not allowed, with the hint and what is (returned, not raised)."""
        return ExprError(f"{what} is not allowed{hint} ({ALLOWED})", column)

    def operator_column(self, left: ast.AST, right: ast.AST, symbol: str) -> int:
        """The column of `symbol` between two operands (the left operand's end if not found)."""
        start, end = left.end_col_offset or 0, right.col_offset
        found = self.source.find(symbol.encode(), start, end)
        return self.column(found if found >= 0 else start)

    def check_operator(self, op: ast.AST, table: dict, left: ast.AST, right: ast.AST):
        """Raise ExprError at the operator if its type is not in `table`."""
        if type(op) not in table:
            symbol, hint = _BAD_OPERATORS.get(type(op), (type(op).__name__, ""))
            column = self.operator_column(left, right, symbol.split()[0])
            raise self.not_allowed(f"'{symbol}'", column, hint)

    def check_no_comment(self, body: ast.expr) -> None:
        """Raise ExprError if a '#' comment follows the expression."""
        end = body.end_col_offset or 0
        rest = self.source[end:].decode("utf-8", "replace")
        stripped = rest.lstrip(" \t\f)")
        if stripped.startswith("#"):
            column = self.column(end) + len(rest) - len(stripped)
            raise ExprError("comments ('#') are not allowed", column)

    # the walk

    def visit(self, node: ast.expr, depth: int) -> Code:
        """Compile `node` with its visit_<type> method. Raises ExprError if it is nested deeper than
        MAX_DEPTH or is not allowed."""
        if depth > MAX_DEPTH:
            raise self.error(node, too_deep())
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            what = _DESCRIPTIONS.get(type(node).__name__, type(node).__name__)
            raise self.not_allowed(what, self.column(node.col_offset))
        return method(node, depth + 1)

    def visit_Constant(self, node: ast.Constant, depth: int) -> Code:
        """A number or boolean. Raises ExprError for a string (allowed only as a function argument),
        any other constant, or an integer too large for a float."""
        value = node.value
        if isinstance(value, bool):
            return const(value)
        if isinstance(value, str):
            raise self.error(node, "strings are only allowed as the argument of "
                                   "rung(), days_since() and happened()")
        if not isinstance(value, (int, float)):
            what = _CONSTANTS.get(type(value), repr(value))
            raise self.not_allowed(what, self.column(node.col_offset))
        try:
            return const(float(value))
        except OverflowError:
            raise self.error(node, "number is too large") from None

    def visit_Name(self, node: ast.Name, depth: int) -> Code:
        """A variable (recorded in .names), or true/false. Raises ExprError for day on its own, a rung,
        an event or an unknown name."""
        name = node.id
        if name == "day":
            raise self.error(node, TIME_RULE.format(term="'day'"))
        if name in BOOLS:
            return const(BOOLS[name])
        if name in self.known_variables:
            self.names.add(name)
            return var(name)
        if name in self.rungs:
            raise self.error(node, f"{name!r} is a rung, not a variable: compare the level with it, e.g. "
                                   f"level >= rung('{name}')")
        if name in self.known_events:
            raise self.error(node, f"{name!r} is an event, not a variable: test it with happened('{name}') "
                                   f"or days_since('{name}')")
        raise self.error(node, _unknown("variable", name, sorted(self.known_variables)))

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> Code:
        """``not x``, ``-x`` or ``+x``. Raises ExprError for ``~``."""
        if isinstance(node.op, ast.Invert):
            raise self.not_allowed("'~'", self.column(node.col_offset), "; use 'not'")
        code = self.visit(node.operand, depth)
        return folded(unary_fn(type(node.op), code), (code,))

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> Code:
        """``+ - * /`` (division by zero gives inf or nan). Raises ExprError for other operators."""
        self.check_operator(node.op, _ARITHMETIC, node.left, node.right)
        left, right = self.visit(node.left, depth), self.visit(node.right, depth)
        return binary(_ARITHMETIC[type(node.op)], left, right)

    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> Code:
        """``and``/``or`` over two or more operands."""
        codes = [self.visit(value, depth) for value in node.values]
        return folded(bool_op_fn(isinstance(node.op, ast.And), codes), codes)

    def visit_Compare(self, node: ast.Compare, depth: int) -> Code:
        """A comparison or a chain of them; one comparing day or days_since() becomes a time atom.
        Raises ExprError for ``in``, ``is`` and their negations."""
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
            return binary(ops[0], *codes)
        return folded(chain_fn(ops, codes), codes)

    def time_comparison(self, op: ast.cmpop, left: ast.expr, right: ast.expr,
                        depth: int) -> Code | None:
        """Compile ``day OP k`` or ``k OP day`` (also days_since); None if not one."""
        op_type = type(op)
        if _is_time(right) and not _is_time(left):
            left, right, op_type = right, left, _MIRROR[op_type]
        elif not _is_time(left) or _is_time(right):
            return None
        event = self.event_argument(left) if isinstance(left, ast.Call) else None
        k = self.visit(right, depth)
        self.atoms.append(Atom(k.fn, event, op_type in _FLIPS_AT_K,
                                op_type in _FLIPS_AFTER_K, k.value if k.kind == "const" else None))
        return Code(time_fn(_COMPARE[op_type], k, event))

    def visit_Call(self, node: ast.Call, depth: int) -> Code:
        """rung('x') (a constant: its index), happened('e'), or min/max/abs. Raises ExprError for
        days_since() outside a time comparison, and for bad calls (see function_name)."""
        name = self.function_name(node)
        if name == "days_since":
            raise self.error(node, TIME_RULE.format(term="days_since()"))
        if name == "rung":
            return const(self.rungs[self.string_argument(node, "rung", self.rungs)])
        if name == "happened":
            event = self.event_argument(node)
            return Code(lambda v, t, e: event in e)
        if name == "before":
            first, then = self.event_pair(node)
            return Code(lambda v, t, e: first in e and (then not in e or e[first] < e[then]))
        if name == "date":
            return const(self.date_argument(node))
        return self.numeric_call(node, name, depth)

    def event_pair(self, node: ast.Call) -> tuple[str, str]:
        """The two events of before('a', 'b'), checked and recorded. Raises ExprError unless there are two
        quoted event names."""
        if len(node.args) != 2 or not all(_is_string_literal([a]) for a in node.args):
            raise self.error(node, "before() takes two quoted event names, e.g. before('a', 'b'): true once "
                                   "'a' has happened, if 'b' had not happened before it")
        names = []
        for arg in node.args:
            if arg.value not in self.known_events:
                raise self.error(arg, _unknown("event", arg.value, list(self.known_events)))
            names.append(arg.value)
            self.events_used.add(arg.value)
        return names[0], names[1]

    def date_argument(self, node: ast.Call) -> float:
        """The day number of date('YYYY-MM-DD') counted from the scenario's start. Raises ExprError for
        anything but one quoted date, or when no start is known."""
        if not _is_string_literal(node.args):
            raise self.error(node, "date() takes one quoted date, e.g. date('2025-03-01')")
        text = node.args[0].value
        try:
            when = dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(node.args[0], f"{text!r} is not a date written YYYY-MM-DD") from None
        if self.start is None:
            raise self.error(node, "date() needs the scenario's start date to count days from")
        return float((when - self.start).days)

    def function_name(self, node: ast.Call) -> str:
        """The called function's name. Raises ExprError if the callee is not a plain name, for
        keyword arguments, and for a function not in FUNCTIONS."""
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

    def numeric_call(self, node: ast.Call, name: str, depth: int) -> Code:
        """min, max or abs of the arguments. Raises ExprError for a wrong number of arguments."""
        func, least, most = NUMERIC_FUNCTIONS[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = f"exactly {least}" if most == least else f"at least {least}"
            raise self.error(node, f"{name}() takes {wanted} argument(s), got {count}")
        codes = [self.visit(arg, depth) for arg in node.args]
        return folded(call_fn(func, codes), codes)

    def event_argument(self, node: ast.Call) -> str:
        """The event named by days_since('e') or happened('e'), checked and recorded."""
        event = self.string_argument(node, self.function_name(node), self.known_events)
        self.events_used.add(event)
        return event

    def string_argument(self, node: ast.Call, function: str, known: Collection[str]) -> str:
        """The one quoted name given to rung(), days_since() or happened(). Raises ExprError if
        the argument is not a single string literal, or names nothing in `known`."""
        kind = STRING_FUNCTIONS[function]
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
