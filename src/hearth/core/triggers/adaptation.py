"""``adaptationFunction`` of a genericPointToPointRegulationTrigger: how the source state's value becomes the
target command's parameter.

The End-User API names the field and gives no language for it. Here it is a small arithmetic expression of
``x`` (the source value), e.g. ``x * 0.5 + 10`` or ``min(100, max(0, 100 - x))``: numbers, ``x``, ``+ - * /
// %``, unary minus, parentheses and ``min``, ``max``, ``abs``, ``round``. Nothing else parses (no names, no
attributes, no powers), so a hostile text cannot run code or take time. Empty or absent: the value is sent as
it is (any type). A result that is a whole number is sent as an int (so that int parameters accept it).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

MAX_TEXT = 256
MAX_NODES = 64
MAX_MAGNITUDE = 1e12
_FUNCTIONS = ("min", "max", "abs", "round")
_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}


class AdaptationError(ValueError):
    pass


class Adaptation:
    def __init__(self, text: str | None) -> None:
        self.text = (text or "").strip()
        self._tree: ast.expr | None = None
        if not self.text:
            return
        if len(self.text) > MAX_TEXT:
            raise AdaptationError(f"longer than {MAX_TEXT} characters")
        try:
            tree = ast.parse(self.text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte in the text
            raise AdaptationError(f"{self.text[:64]!r} is not an expression of x") from None
        nodes = list(ast.walk(tree))
        if len(nodes) > MAX_NODES:
            raise AdaptationError(f"more than {MAX_NODES} terms")
        for node in nodes:
            _allowed(node)
        self._tree = tree.body

    @property
    def identity(self) -> bool:
        return self._tree is None

    def __call__(self, value: Any) -> Any:
        """The parameter to send for ``value``; None when there is none (not a number, out of range)."""
        if self._tree is None:
            return value
        x = _number(value)
        if x is None:
            return None
        try:
            result = _evaluate(self._tree, x)
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return None
        if not math.isfinite(result) or abs(result) > MAX_MAGNITUDE:
            return None
        return int(result) if float(result).is_integer() else float(result)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _allowed(node: ast.AST) -> None:
    if isinstance(node, ast.Expression | ast.Load | ast.BinOp | ast.UnaryOp | ast.USub | ast.UAdd):
        return
    if isinstance(node, ast.operator) and type(node) in _OPERATORS:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.Name) and (node.id == "x" or node.id in _FUNCTIONS):
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 1 <= len(node.args) <= 4
    ):
        return
    raise AdaptationError(
        f"{ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__!s} is not "
        "allowed (numbers, x, + - * / // %, min, max, abs, round)"
    )


def _evaluate(node: ast.expr, x: float) -> float:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float):
            raise ValueError("not a number")
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id != "x":
            raise ValueError(node.id)
        return x
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, x)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return float(_OPERATORS[type(node.op)](_evaluate(node.left, x), _evaluate(node.right, x)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_evaluate(a, x) for a in node.args]
        if node.func.id == "round":
            if len(args) > 2:
                raise ValueError("round takes one or two values")
            return float(round(args[0], int(args[1])) if len(args) == 2 else round(args[0]))
        if node.func.id == "abs":
            if len(args) != 1:
                raise ValueError("abs takes one value")
            return abs(args[0])
        return min(args) if node.func.id == "min" else max(args)
    raise ValueError(type(node).__name__)
