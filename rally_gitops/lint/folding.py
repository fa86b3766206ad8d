"""Constant folding of WHERE clauses: a WHERE that is always true is no WHERE at all.

``UPDATE users SET flag = false WHERE true`` and ``DELETE FROM matches WHERE 1 = 1`` change every
row as surely as no WHERE does. Literals are folded, and so are ``NOT``, ``AND``, ``OR`` and the
comparison of two constants (``1 = 1``, ``'a' = 'a'``, ``1 <> 2``); anything that reads a column,
calls a function or a parameter is unknown, and an unknown WHERE counts as a real one.

Example::

    constant_truth(parse_pg("DELETE FROM m WHERE true OR id = 3").whereClause)  # True
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.enums import BoolExprType

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_TRUE_WORDS = {"t", "true", "y", "yes", "on", "1"}
_FALSE_WORDS = {"f", "false", "n", "no", "off", "0"}


def constant_truth(node: Any) -> bool | None:
    """True or False when pglast's expression ``node`` is a constant condition, else None."""
    value = _value(node)
    return value if isinstance(value, bool) else None


def _value(node: Any) -> Any:
    """The constant an expression folds to, or None (unknown)."""
    if isinstance(node, ast.A_Const):
        val = node.val
        if node.isnull or val is None:
            return None
        if isinstance(val, ast.Boolean):
            return bool(val.boolval)
        if isinstance(val, ast.Integer):
            return val.ival
        if isinstance(val, ast.Float) and val.fval is not None:
            return float(val.fval)
        if isinstance(val, ast.String):
            return val.sval
        return None
    if isinstance(node, ast.TypeCast):
        inner = _value(node.arg)
        type_names = node.typeName.names if node.typeName is not None else None
        names = [getattr(n, "sval", "") for n in type_names or ()]
        if names and names[-1] == "bool" and isinstance(inner, str):
            word = inner.strip().lower()
            return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None
        return inner if names and names[-1] in ("text", "varchar", "int4", "int8") else None
    if isinstance(node, ast.BoolExpr):
        values = [_value(arg) for arg in node.args or ()]
        if node.boolop == BoolExprType.NOT_EXPR:
            return (not values[0]) if values and isinstance(values[0], bool) else None
        if node.boolop == BoolExprType.AND_EXPR:
            if any(v is False for v in values):
                return False
            return True if all(v is True for v in values) else None
        if any(v is True for v in values):  # OR
            return True
        return False if all(v is False for v in values) else None
    if isinstance(node, ast.A_Expr) and node.name is not None and len(node.name) == 1:
        compare = _COMPARE.get(getattr(node.name[0], "sval", ""))
        left, right = _value(node.lexpr), _value(node.rexpr)
        if compare is None or left is None or right is None:
            return None
        if isinstance(left, str) != isinstance(right, str):
            return None  # '1' = 1 depends on the cast PostgreSQL picks
        try:
            return bool(compare(left, right))
        except TypeError:
            return None
    return None


def sqlglot_truth(expr: Any) -> bool | None:
    """The same folding for sqlglot's expression (the statements pglast could not parse)."""
    from sqlglot import exp

    if isinstance(expr, exp.Paren):
        return sqlglot_truth(expr.this)
    if isinstance(expr, exp.Boolean):
        return bool(expr.this)
    if isinstance(expr, exp.Cast) and expr.to.is_type(exp.DataType.Type.BOOLEAN):
        inner = expr.this
        if isinstance(inner, exp.Literal) and inner.is_string:
            word = inner.this.strip().lower()
            return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None
        return None
    if isinstance(expr, exp.Not):
        inner = sqlglot_truth(expr.this)
        return None if inner is None else not inner
    if isinstance(expr, exp.And | exp.Or):
        left, right = sqlglot_truth(expr.left), sqlglot_truth(expr.right)
        if isinstance(expr, exp.And):
            if False in (left, right):
                return False
            return True if left is True and right is True else None
        if True in (left, right):
            return True
        return False if left is False and right is False else None
    if isinstance(expr, exp.EQ | exp.NEQ) and all(
        isinstance(side, exp.Literal) for side in (expr.left, expr.right)
    ):
        lhs, rhs = expr.left, expr.right
        if lhs.is_string != rhs.is_string:
            return None
        same = lhs.this == rhs.this if lhs.is_string else float(lhs.this) == float(rhs.this)
        return same if isinstance(expr, exp.EQ) else not same
    return None
