"""Text checks before parsing: length, bracket depth, Python syntax errors turned into hints for common habits."""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any

from escalsim.scenario.conditions.base import MAX_DEPTH, MAX_LENGTH, ExprError


def prepare(text: Any) -> tuple[str, int]:
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
                raise ExprError(too_deep(), lead + i)
        elif char in ")]}":
            depth -= 1


def too_deep() -> str:
    """The message for brackets nested more than MAX_DEPTH levels."""
    return f"expression is nested too deeply (limit {MAX_DEPTH} levels)"


def parse_ast(source: str, lead: int) -> ast.Expression:
    """Parse one-line `source` as a Python expression.

    Raises ExprError on a syntax error, with a hint for habits of other languages and a column counted
    from `lead`."""
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
