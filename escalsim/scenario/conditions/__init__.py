"""The condition language: scenario text parsed once into fast evaluate/next_change closures, never run by Python.

`base` holds its limits, names, errors and the parsed `Expr`; `syntax` the text checks and hints before
parsing; `compiler` the whitelist walk over Python's expression AST; `closures` what it builds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from escalsim.scenario.conditions.base import ALLOWED, FUNCTIONS, MAX_DEPTH, MAX_LENGTH, Expr, ExprError, suggest
from escalsim.scenario.conditions.closures import fixed_wake_days, next_change_fn
from escalsim.scenario.conditions.compiler import Compiler
from escalsim.scenario.conditions.syntax import parse_ast, prepare

__all__ = ["ALLOWED", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "Expr", "ExprError", "parse", "suggest"]


def parse(
    text: str, *, variables: Collection[str], events: Collection[str], rungs: Sequence[str] | Mapping[str, int],
    start: dt.date | None = None,
) -> Expr:
    """Parse and compile ``text``; raise ExprError if it is not a valid condition.

    Grammar (a whitelist over Python expression syntax, walked with ``ast``, never run by
    Python): numbers, ``true``/``false``, variable names, ``level``, ``day``, ``+ - * /``,
    unary ``- +``, comparisons ``< <= > >= == !=`` (chains allowed), ``and``/``or``/``not``,
    parentheses and ``min max abs rung days_since happened before date``. Newlines count as spaces.
    ``date('2025-03-01')`` is that date's day number (needs ``start``); ``before('a', 'b')`` is true once ``a``
    has happened if ``b`` had not happened before it (a tie is not before).

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
    source, lead = prepare(text)
    tree = parse_ast(source, lead)
    compiler = Compiler(source, lead, variables, events, rungs, start)
    compiler.check_no_comment(tree.body)
    code = compiler.visit(tree.body, 1)
    return Expr(
        text=text,
        variables=frozenset(compiler.names),
        events=frozenset(compiler.events_used),
        uses_time=bool(compiler.atoms),
        evaluate=code.fn,
        next_change=next_change_fn(tuple(compiler.atoms)),
        wake_days=fixed_wake_days(compiler.atoms) if compiler.atoms else None,
    )
