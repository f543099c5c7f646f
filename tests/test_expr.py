"""Tests for escalsim.expr: evaluation, errors, time semantics, next_change and properties."""

import ast
import dataclasses
import functools
import math
import operator
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from escalsim.scenario import conditions as expr_module
from escalsim.scenario.conditions import MAX_DEPTH, MAX_LENGTH, Expr, ExprError, parse, suggest

VARIABLES = ("x", "y", "z", "troops", "casualties", "us_est_troops", "us_est_dprk_troops", "level")  # level: a ladder
EVENTS = ("war", "treaty_in_force", "dprk_in_combat")
RUNGS = ("peace", "alert", "mobilise", "nato_direct", "défcon")
VALUES = {"x": 2.0, "y": 3.0, "z": -1.5, "troops": 100.0, "casualties": 20.0,
          "us_est_troops": 6000.0, "us_est_dprk_troops": 4000.0, "level": 1.0}
INF = math.inf
AFTER_60 = math.nextafter(60.0, INF)


def compile_(text):
    return parse(text, variables=VARIABLES, events=EVENTS, rungs=RUNGS)


def evaluate(text, values=VALUES, now=0.0, event_times=None):
    return compile_(text).evaluate(values, now, event_times or {})


def next_change(text, now, values=VALUES, event_times=None):
    return compile_(text).next_change(values, now, event_times or {})


def same(a, b):
    """Equal values, nan equal to nan, and a bool only where the other is a bool."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b or (math.isnan(a) and math.isnan(b))


# --- evaluation ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("42", 42.0),
    ("2.5e3", 2500.0),
    ("x", 2.0),
    ("level", 1.0),
    ("true", True),
    ("false", False),
    ("True + false", 1),
    ("-x", -2.0),
    ("+z", -1.5),
    ("--x", 2.0),
    ("x + y * z", 2.0 + 3.0 * -1.5),
    ("(x + y) * z", (2.0 + 3.0) * -1.5),
    ("x - y - z", 2.0 - 3.0 - -1.5),
    ("x / y / z", 2.0 / 3.0 / -1.5),
    ("-x * y", -6.0),
    ("troops / 0", INF),
    ("z / 0", -INF),
    ("z / -0.0", INF),
    ("min(x, y, z)", -1.5),
    ("max(x, y)", 3.0),
    ("max(x, y, z, 10)", 10.0),
    ("abs(z)", 1.5),
    ("abs(z) + min(x, 1) * max(y, 0)", 1.5 + 1.0 * 3.0),
    ("rung('peace')", 0),
    ("rung('nato_direct')", 3),
    ("level < rung('mobilise')", True),
    ("x < y", True),
    ("x <= 2", True),
    ("x > 2", False),
    ("x >= 2", True),
    ("x == 2", True),
    ("x != 2", False),
    ("0 < x < 5", True),
    ("0 < x < 1", False),
    ("z < 0 < x < y <= 3 != 4", True),
    ("x < y > z", True),
    ("1 + 2 > 2 + 0.5", True),
    ("x and y", 3.0),
    ("0 and y", 0.0),
    ("x or y", 2.0),
    ("0 or y", 3.0),
    ("0 or false", False),
    ("x and y and 0 and z", 0.0),
    ("0 or 0 or 0 or z", -1.5),
    ("not x", False),
    ("not 0", True),
    ("not x > 5", True),
    ("not x > 1 or y > 2", True),
    ("x > 1 and not y > 2", False),
    ("x > 5 or y > 2 and z > 0", False),
    ("(x > 5 or y > 2) and z < 0", True),
    ("(x > 1) + (y > 1)", 2),
    ("us_est_dprk_troops >= 5000 and level < rung('nato_direct')", False),
])
def test_evaluates_like_hand_computation(text, expected):
    assert same(evaluate(text), expected)


def test_zero_over_zero_is_nan():
    assert math.isnan(evaluate("0 / 0"))
    assert math.isnan(evaluate("x * 0 / (y - 3)"))


def test_comparisons_with_nan_are_false():
    values = dict(VALUES, x=math.nan)
    assert evaluate("x < 1 or x >= 1 or x == x", values) is False
    assert evaluate("x != 1", values) is True


def test_and_or_short_circuit_without_reading_the_rest():
    values = {"x": 0.0}
    assert evaluate("x > 1 and y > 1", values) is False
    assert evaluate("x < 1 or y > 1", values) is True
    assert evaluate("1 < x < y", values) is False
    with pytest.raises(KeyError):
        evaluate("x < 1 and y > 1", values)


def test_constant_subtrees_are_folded():
    expr = compile_("rung('alert') * 2 + max(1, 3) / 2 > 3")
    assert expr.evaluate({}, 0.0, {}) is True
    assert expr.variables == frozenset()


def test_newlines_and_leading_whitespace_are_spaces():
    assert evaluate("  x > 1\n  and y > 2\r\n  and not z > 0") is True


def test_happened():
    expr = compile_("happened('war') and not happened('treaty_in_force')")
    assert expr.evaluate(VALUES, 5.0, {}) is False
    assert expr.evaluate(VALUES, 5.0, {"war": 3.0}) is True
    assert expr.evaluate(VALUES, 5.0, {"war": 3.0, "treaty_in_force": 4.0}) is False
    assert not expr.uses_time


def test_day_is_the_current_time():
    expr = compile_("not happened('treaty_in_force') and day >= 60")
    assert expr.evaluate(VALUES, 59.5, {}) is False
    assert expr.evaluate(VALUES, 60.0, {}) is True
    assert expr.evaluate(VALUES, 60.0, {"treaty_in_force": 1.0}) is False


def test_days_since_counts_from_the_event():
    expr = compile_("days_since('dprk_in_combat') >= 30 or casualties / max(troops, 1) > 0.5")
    assert expr.evaluate(VALUES, 40.0, {"dprk_in_combat": 10.0}) is True
    assert expr.evaluate(VALUES, 39.0, {"dprk_in_combat": 10.0}) is False


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_days_since_before_the_event_makes_every_comparison_false(op):
    assert evaluate(f"days_since('war') {op} 5", now=5.0) is False
    assert evaluate(f"5 {op} days_since('war')", now=5.0) is False


@pytest.mark.parametrize(("text", "expected"), [
    ("days_since('war') == 5", True), ("days_since('war') != 5", False),
    ("5 <= days_since('war')", True), ("days_since('war') < 5", False),
    ("day > x", True), ("x >= day", False), ("day == 7.5", True),
])
def test_time_comparisons_after_the_event(text, expected):
    assert evaluate(text, now=7.5, event_times={"war": 2.5}) is expected


def test_names_events_and_uses_time_are_reported():
    expr = compile_("days_since('war') > x + y and level < rung('alert') "
                    "or happened('treaty_in_force')")
    assert expr.variables == {"x", "y", "level"}
    assert expr.events == {"war", "treaty_in_force"}
    assert expr.uses_time
    plain = compile_("day > 3 and z < 1")
    assert (plain.variables, plain.events, plain.uses_time) == ({"z"}, frozenset(), True)
    assert not compile_("x + rung('peace') > 1").uses_time


def test_expr_is_a_frozen_record_compared_by_text():
    expr = compile_("x > 1")
    assert expr == compile_("x > 1")
    assert isinstance(expr, Expr) and hash(expr) == hash(compile_("x > 1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.text = "y"


def test_suggest():
    assert suggest("us_est_troop", ["us_est_troops", "level"]) == "us_est_troops"
    assert suggest("zzz", ["us_est_troops", "level"]) is None
    assert suggest("x", []) is None


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fragment", "column"), [
    ("us_est_troop > 5", "unknown variable 'us_est_troop' (did you mean 'us_est_troops'?)", 0),
    ("x > 1 and lvel < 2", "did you mean 'level'?", 10),
    ("level < rung('défcon') + troop", "unknown variable 'troop' (did you mean 'troops'?)", 25),
    ("qqq > 1", "known variables:", 0),
    ("mx(x, y) > 1", "unknown function 'mx' (did you mean 'max'?); allowed functions: min, max", 0),
    ("__import__('os')", "unknown function '__import__'", 0),
    ("print(x)", "allowed functions: min, max, abs, rung, days_since, happened", 0),
    ("level < rung('nato_direkt')", "unknown rung 'nato_direkt' (did you mean 'nato_direct'?)", 13),
    ("level < rung('zz')", "known rungs: peace, alert, mobilise, nato_direct, défcon", 13),
    ("rung(x)", "rung() takes one quoted rung name", 0),
    ("rung('peace', 'alert')", "rung() takes one quoted rung name", 0),
    ("happened('wr')", "unknown event 'wr' (did you mean 'war'?)", 9),
    ("days_since('peace_talks') > 3", "unknown event 'peace_talks'", 11),
    ("days_since() > 3", "days_since() takes one quoted event name", 0),
    ("happened(war)", "happened() takes one quoted event name", 0),
    ("'war'", "strings are only allowed as the argument of rung(), days_since()", 0),
    ("x == 'a'", "strings are only allowed", 5),
    ("max('a', 1)", "strings are only allowed", 4),
    ("x.__class__", "attribute access is not allowed (allowed: numbers, variable names", 0),
    ("x.real > 1", "attribute access is not allowed", 0),
    ("().__class__.__bases__[0]", "is not allowed", 0),
    ("x[0]", "subscripting is not allowed", 0),
    ("lambda: 1", "lambda is not allowed", 0),
    ("x ** 2", "'**' is not allowed", 2),
    ("x % 2", "'%' is not allowed", 2),
    ("x // 2", "'//' is not allowed", 2),
    ("x & y", "'&' is not allowed; use 'and'", 2),
    ("x | y", "'|' is not allowed; use 'or'", 2),
    ("x ^ y", "'^' is not allowed", 2),
    ("x << 1", "'<<' is not allowed", 2),
    ("~x", "'~' is not allowed; use 'not'", 0),
    ("x in y", "'in' is not allowed", 2),
    ("x is y", "'is' is not allowed; use '=='", 2),
    ("1 < x is not y", "'is not' is not allowed", 6),
    ("max(x, key=y)", "a keyword argument is not allowed", 7),
    ("max(*x, 1)", "'*' unpacking is not allowed", 4),
    ("abs(x, y)", "abs() takes exactly 1 argument(s), got 2", 0),
    ("min(x)", "min() takes at least 2 argument(s), got 1", 0),
    ("x.y()", "only min, max, abs, rung, days_since and happened can be called", 0),
    ("(lambda: 1)()", "only min, max, abs", 0),
    ("f'{x}' == 1", "an f-string is not allowed", 0),
    ("(y := 1)", "':=' assignment is not allowed", 1),
    ("1 if x else 2", "an if-else expression is not allowed", 0),
    ("[x, y]", "a list is not allowed", 0),
    ("(x, y)", "a tuple is not allowed", 0),
    ("{x: y}", "a dict is not allowed", 0),
    ("[a for a in b]", "a comprehension is not allowed", 0),
    ("None", "None is not allowed", 0),
    ("1j > x", "a complex number is not allowed", 0),
    ("b'x'", "a bytes literal is not allowed", 0),
    ("9" * 400 + " > x", "number is too large", 0),
    ("x > 1 # note", "comments ('#') are not allowed", 6),
    ("(x > 1)  # note", "comments ('#') are not allowed", 9),
    ("x >", "invalid syntax", 3),
    ("x > > 1", "invalid syntax", 4),
    ("(x > 1", "invalid syntax", 0),
    ("x = 1", "invalid syntax", 2),
    ("x ≥ 1", "invalid syntax", 2),
    ("x\x00", "invalid syntax", None),
    ("", "expression is empty", None),
    ("  \n\t ", "expression is empty", None),
    ("x" * (MAX_LENGTH + 1), "expression is too long", None),
    ("(" * 200 + "x" + ")" * 200, "nested too deeply", MAX_DEPTH),
    ("not " * 500 + "x", "too long", None),
    ("not " * (MAX_DEPTH + 10) + "x", "nested too deeply", 4 * MAX_DEPTH),
    ("-" * 60 + "x", "nested too deeply", MAX_DEPTH),
    ("+".join(["x"] * 60), "nested too deeply", 0),
    ("day * 2 > 5", "'day' can only be one side of a single comparison", 0),
    ("max(day, 3) > 1", "'day' can only be one side", 4),
    ("day", "'day' can only be one side", 0),
    ("day and x", "'day' can only be one side", 0),
    ("not day", "'day' can only be one side", 4),
    ("day < days_since('war')", "'day' can only be one side", 0),
    ("days_since('war') < day", "days_since() can only be one side", 0),
    ("day > x * day", "'day' can only be one side", 10),
    ("day == day", "'day' can only be one side", 0),
    ("0 < day < 5", "chained comparisons", 4),
    ("days_since('war')", "days_since() can only be one side", 0),
    ("days_since('war') + 1 > 3", "days_since() can only be one side", 0),
    ("abs(days_since('war')) > 3", "days_since() can only be one side", 4),
])
def test_bad_input_raises_expr_error_with_message_and_column(text, fragment, column):
    with pytest.raises(ExprError) as caught:
        compile_(text)
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message
    assert caught.value.column == column


@pytest.mark.parametrize("text", [None, 5, 1.5, ["x"], b"x > 1"])
def test_non_text_is_an_expr_error(text):
    with pytest.raises(ExprError, match="must be text"):
        compile_(text)


def test_expr_error_is_a_value_error_that_pickles():
    assert issubclass(ExprError, ValueError)
    assert ExprError("bad").column is None
    copy = pickle.loads(pickle.dumps(ExprError("bad thing", 7)))
    assert (copy.message, copy.column, str(copy)) == ("bad thing", 7, "bad thing")


def test_unknown_event_with_no_events_defined():
    with pytest.raises(ExprError, match="no events are defined"):
        parse("happened('war')", variables=(), events=(), rungs=())


def test_limits_are_inclusive():
    assert compile_("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH).variables == {"x"}
    assert evaluate("not " * (MAX_DEPTH - 1) + "x") is False
    padded = "x > 1" + " " * (MAX_LENGTH - 5)
    assert evaluate(padded) is True


@pytest.mark.parametrize(("text", "fragment"), [
    ("troops = 500", "compare with '==', not '='"),
    ("x > 1 && y < 2", "write 'and' for &&"),
    ("x > 1 || y < 2", "write 'or' for ||"),
    ("!happened('war')", "write 'not' for !"),
    ("x > 1 AND y < 2", "write and, or, not in lower case"),
    ("level >= alert", "'alert' is a rung, not a variable: compare the level with it, e.g. level >= rung('alert')"),
    ("war >= 1", "'war' is an event, not a variable: test it with happened('war')"),
    ("happened('troops')", "'troops' is a variable, not an event: compare it instead, e.g. troops > 0"),
])
def test_other_languages_habits_and_the_wrong_kind_of_name_get_a_hint(text, fragment):
    with pytest.raises(ExprError) as info:
        compile_(text)
    assert fragment in str(info.value)


def test_a_comparison_inside_a_quoted_name_gets_no_hint():
    with pytest.raises(ExprError) as info:
        compile_("happened('a = b') x")
    assert "'=='" not in str(info.value)


@pytest.mark.parametrize("path", sorted(Path(expr_module.__file__).parents[2].rglob("*.py")),
                         ids=lambda p: str(p.relative_to(Path(expr_module.__file__).parents[2])))
def test_eval_exec_and_compile_are_not_used(path):
    """No module of the package runs text as code (the condition language included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not names & {"eval", "exec", "compile", "__import__", "__builtins__"}
    assert not attributes & {"eval", "exec", "__import__", "__builtins__"}  # re.compile is a regular expression


# --- next_change ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "now", "expected"), [
    ("day >= 60", 10.0, 60.0),
    ("day >= 60", 60.0, INF),
    ("day >= 60", 70.0, INF),
    ("day < 60", 10.0, 60.0),
    ("day < 60", 60.0, INF),
    ("day > 60", 10.0, AFTER_60),
    ("day > 60", 60.0, AFTER_60),
    ("day > 60", AFTER_60, INF),
    ("day <= 60", 10.0, AFTER_60),
    ("day <= 60", 60.0, AFTER_60),
    ("day == 60", 10.0, 60.0),
    ("day == 60", 60.0, AFTER_60),
    ("day == 60", 61.0, INF),
    ("day != 60", 10.0, 60.0),
    ("day != 60", 60.0, AFTER_60),
    ("day != 60", 61.0, INF),
    ("60 <= day", 10.0, 60.0),
    ("60 > day", 10.0, 60.0),
    ("60 < day", 10.0, AFTER_60),
    ("60 >= day", 10.0, AFTER_60),
    ("60 == day", 60.0, AFTER_60),
    ("60 != day", 10.0, 60.0),
    ("day > x * 30", 10.0, AFTER_60),
    ("day >= 20 * y", 10.0, 60.0),
    ("day > 30 or day >= 20 or day < 100", 10.0, 20.0),
    ("day > 30 and day >= 20", 25.0, math.nextafter(30.0, INF)),
    ("not (day >= 60)", 10.0, 60.0),
    ("x > 1", 10.0, INF),
    ("happened('war') and x > 1", 10.0, INF),
    ("day >= 1e999", 10.0, INF),
])
def test_next_change(text, now, expected):
    assert next_change(text, now) == expected


def test_next_change_ignores_nan_thresholds():
    assert next_change("day > x or day >= y", 0.0, dict(VALUES, x=math.nan)) == 3.0


@pytest.mark.parametrize(("text", "start", "now", "expected"), [
    ("days_since('war') >= 30", None, 10.0, INF),
    ("days_since('war') >= 30", 5.0, 10.0, 35.0),
    ("days_since('war') >= 30", 5.0, 35.0, INF),
    ("30 > days_since('war')", 5.0, 10.0, 35.0),
    ("days_since('war') > 30", 5.0, 10.0, math.nextafter(35.0, INF)),
    ("30 >= days_since('war')", 5.0, 10.0, math.nextafter(35.0, INF)),
    ("days_since('war') == x", 5.0, 6.0, 7.0),
    ("days_since('war') >= 30 or day > 20", None, 10.0, math.nextafter(20.0, INF)),
])
def test_next_change_for_days_since(text, start, now, expected):
    event_times = {} if start is None else {"war": start}
    assert next_change(text, now, event_times=event_times) == expected


def test_expression_without_time_has_inf_next_change():
    expr = compile_("x + y > casualties / troops")
    assert not expr.uses_time
    assert expr.next_change(VALUES, 3.0, {"war": 1.0}) == INF


# --- hypothesis ----------------------------------------------------------------------

TOKENS = ["x", "y", "level", "day", "true", "days_since('war')", "happened('war')",
          "rung('alert')", "min(", "max(", "abs(", "(", ")", ",", "+", "-", "*", "/", "**",
          "<", "<=", ">", ">=", "==", "!=", " and ", " or ", "not ", "1", "2.5", "0", "1e309",
          ".", "[", "]", "'", "\"", "lambda", ":", "=", "#", "\n", " ", "é", " if ", " else ",
          "__import__", "__class__", "\\", "{", "}", "0x", "_", "j"]

texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_parse_raises_only_expr_error_and_results_run(text):
    try:
        expr = compile_(text)
    except ExprError as err:
        assert err.message
        assert err.column is None or 0 <= err.column <= len(text)
        return
    events = {"war": 1.0}
    expr.evaluate(VALUES, 2.0, events)
    assert expr.next_change(VALUES, 2.0, events) > 2.0


# A well-formed expression as a tree of tuples, rendered to text fully parenthesised
# and evaluated by `reference` below (no Python eval).
NAMES = ("x", "y", "z")
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": None}
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
               "==": operator.eq, "!=": operator.ne}
numbers = st.one_of(st.integers(0, 1000), st.floats(0, 1e6, allow_subnormal=False),
                    st.sampled_from([0.0, 0.5, 1.0]))
ops = st.sampled_from(sorted(COMPARISONS))
plain_leaves = st.one_of(numbers.map(lambda n: ("num", n)),
                         st.sampled_from(NAMES).map(lambda n: ("var", n)))
time_leaves = st.tuples(st.sampled_from(["day", "war", "treaty_in_force"]), ops,
                        plain_leaves, st.booleans()).map(lambda a: ("time", *a))


def _comparison_chain(operands):
    size = len(operands) - 1
    return st.tuples(st.just("cmp"), st.lists(ops, min_size=size, max_size=size),
                     st.just(operands))


def _extend(children):
    lists = st.lists(children, min_size=2, max_size=4)
    return st.one_of(
        st.tuples(st.sampled_from(["neg", "pos", "not"]), children),
        st.tuples(st.just("bin"), st.sampled_from(sorted(ARITHMETIC)), children, children),
        lists.flatmap(_comparison_chain),
        st.tuples(st.just("bool"), st.sampled_from(["and", "or"]), lists),
        st.tuples(st.just("call"), st.sampled_from(["min", "max"]), lists),
        st.tuples(st.just("call"), st.just("abs"), st.lists(children, min_size=1, max_size=1)),
    )


trees = st.recursive(st.one_of(plain_leaves, time_leaves), _extend, max_leaves=12)
floats = st.floats(allow_nan=True, allow_infinity=True)
valuations = st.fixed_dictionaries({name: st.one_of(floats, numbers) for name in NAMES})


def render(tree):
    kind = tree[0]
    if kind == "num":
        return repr(tree[1])
    if kind == "var":
        return tree[1]
    if kind == "time":
        return _render_time(tree)
    if kind in ("neg", "pos", "not"):
        symbol = {"neg": "-", "pos": "+", "not": "not "}[kind]
        return f"({symbol}{render(tree[1])})"
    if kind == "bin":
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    if kind == "cmp":
        return _render_chain(tree[1], tree[2])
    if kind == "bool":
        return "(" + f" {tree[1]} ".join(render(t) for t in tree[2]) + ")"
    return f"{tree[1]}(" + ", ".join(render(t) for t in tree[2]) + ")"


def _render_time(tree):
    _, term, op, other, mirrored = tree
    term = "day" if term == "day" else f"days_since('{term}')"
    parts = (render(other), term) if mirrored else (term, render(other))
    return f"({parts[0]} {op} {parts[1]})"


def _render_chain(op_list, operands):
    text = render(operands[0])
    for op, operand in zip(op_list, operands[1:]):
        text += f" {op} {render(operand)}"
    return f"({text})"


def reference(tree, values, now, event_times):
    """Evaluate a generated tree the way the module documents, independently of it."""
    kind = tree[0]
    sub = functools.partial(reference, values=values, now=now, event_times=event_times)
    if kind == "num":
        return float(tree[1])
    if kind == "var":
        return values[tree[1]]
    if kind == "time":
        return _reference_time(tree, sub, now, event_times)
    if kind in ("neg", "pos", "not"):
        value = sub(tree[1])
        return {"neg": lambda: -value, "pos": lambda: +value, "not": lambda: not value}[kind]()
    if kind == "bin":
        return _reference_arithmetic(tree[1], sub(tree[2]), sub(tree[3]))
    if kind == "cmp":
        values_ = [sub(t) for t in tree[2]]
        return all(COMPARISONS[op](a, b) for op, a, b in zip(tree[1], values_, values_[1:]))
    if kind == "bool":
        return _reference_bool(tree[1], [sub(t) for t in tree[2]])
    return {"min": min, "max": max, "abs": abs}[tree[1]](*[sub(t) for t in tree[2]])


def _reference_time(tree, sub, now, event_times):
    """Documented rule: days_since('e') OP k is day OP k + t_e; false before e happened."""
    _, term, op, other, mirrored = tree
    k = sub(other)
    if term != "day":
        if term not in event_times:
            return False
        k = k + event_times[term]
    return COMPARISONS[op](k, now) if mirrored else COMPARISONS[op](now, k)


def _reference_arithmetic(op, a, b):
    if op != "/":
        return ARITHMETIC[op](a, b)
    with np.errstate(all="ignore"):
        return float(np.float64(a) / np.float64(b))


def _reference_bool(op, operands):
    for value in operands[:-1]:
        if (op == "and") != bool(value):
            return value
    return operands[-1]


def _compile_or_reject(text):
    try:
        return compile_(text)
    except ExprError as err:
        if "too deeply" in err.message or "too long" in err.message:
            reject()
        raise


event_time_maps = st.dictionaries(st.sampled_from(["war", "treaty_in_force"]),
                                  st.floats(0, 1000), max_size=2)


@settings(max_examples=300, deadline=None)
@given(trees, valuations, st.floats(0, 1000), event_time_maps)
def test_evaluation_matches_reference_evaluator(tree, values, now, event_times):
    expr = _compile_or_reject(render(tree))
    values = dict(values, level=0.0)
    got = expr.evaluate(values, now, event_times)
    assert same(got, reference(tree, values, now, event_times))


def _probe_times(now, change):
    if change == INF:
        return [now, now + 1.0, now + 1e6, 1e300]
    before = math.nextafter(change, -INF)
    return [now, before, now + (change - now) / 2]


@settings(max_examples=300, deadline=None)
@given(trees, valuations, st.floats(0, 1000), event_time_maps)
def test_value_is_constant_until_next_change(tree, values, now, event_times):
    expr = _compile_or_reject(render(tree))
    values = dict(values, level=0.0)
    change = expr.next_change(values, now, event_times)
    assert change > now
    first = expr.evaluate(values, now, event_times)
    for t in _probe_times(now, change):
        if now <= t < change:
            assert same(expr.evaluate(values, t, event_times), first)


@settings(max_examples=200, deadline=None)
@given(ops, st.floats(-1e6, 1e6), st.floats(0, 1e3), st.floats(0, 1e3))
def test_next_change_flips_a_single_atom(op, k, start, now):
    expr = compile_(f"days_since('war') {op} x")
    values, event_times = {"x": k}, {"war": start}
    change = expr.next_change(values, now, event_times)
    before = expr.evaluate(values, now, event_times)
    if change < INF:
        assert expr.evaluate(values, change, event_times) != before
    else:
        assert expr.evaluate(values, now + 1e9, event_times) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("day >= 60", (60,)),
    ("x > 1 or day == 60", (60, AFTER_60)),
    ("day > 30 and day <= 20 + 10", (math.nextafter(30, INF),)),
    ("day >= x * 30", None),
    ("days_since('war') >= 30", None),
    ("x > 1", None),
])
def test_wake_days_are_the_fixed_days_time_may_flip_a_condition(text, expected):
    assert compile_(text).wake_days == expected


@settings(max_examples=300, deadline=None)
@given(trees, valuations, st.floats(0, 1000), event_time_maps)
def test_wake_days_give_next_change(tree, values, now, event_times):
    """When its wake-up days are fixed, the first of them after `now` is next_change: a retired condition's
    wake-ups (world.Watch._wake) go on on the same days without a re-check."""
    expr = _compile_or_reject(render(tree))
    values = dict(values, level=0.0)
    if expr.wake_days is None:
        return
    assert list(expr.wake_days) == sorted(set(expr.wake_days))
    assert next((d for d in expr.wake_days if d > now), INF) == expr.next_change(values, now, event_times)
