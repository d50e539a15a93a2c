"""A safe parser for arithmetic expressions typed on a command line, such as ``tanh(x*w + b)``.

Python's `ast` parses the text; a whitelist then admits only numbers, variable names, ``+ - * /
**``, unary minus and calls of the engine's functions, so nothing is ever `eval`-ed. Evaluating
an expression builds an ordinary graph of `Value`s. No calculus lives here.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import autograd_lite.engine as engine
from autograd_lite.engine import Value, no_grad
from autograd_lite.rules import OPERATIONS, VARIADIC, Operation

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "parse", "parse_binding"]

Operand = float | Value | list[float | Value]

# The functions an expression may call: every operation of the table that is a Value method or
# a function of the package (operators such as + are written as operators).
_CALLABLE: Final[Mapping[str, Operation]] = {
    name: entry for name, entry in OPERATIONS.items() if entry.method or entry.function
}
FUNCTIONS: Final = tuple(sorted(_CALLABLE))
# The functions whose inputs are written as lists: dot([w1, w2], [x1, x2]), log_softmax([a, b], 1).
_TAKES_LISTS: Final = tuple(
    name
    for name, entry in _CALLABLE.items()
    if name == "dot" or (entry.arity == VARIADIC and entry.params)
)

_BINARY: Final[Mapping[type[ast.operator], str]] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_OPERATOR_SYMBOLS: Final[Mapping[type[ast.AST], str]] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}
# What to call the syntax we refuse, in an error message.
_SYNTAX_NAMES: Final[Mapping[type[ast.AST], str]] = {
    ast.Attribute: "attribute access (.)",
    ast.Subscript: "indexing ([])",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.Lambda: "lambda",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Starred: "unpacking (*)",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "an f-string",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
}


class ExpressionError(ValueError):
    """A bad expression or binding, with the column of the text where the problem is."""

    def __init__(self, message: str, text: str, column: int | None = None, width: int = 1):
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column
        self.width = max(1, width)

    def pointer(self) -> str:
        """Two lines: the expression, and carets under the problem (empty without a column)."""
        if self.column is None:
            return ""
        return f"{self.text}\n{' ' * self.column}{'^' * self.width}"


class Expression:
    """A parsed, checked expression; `evaluate` builds its graph from values for its names."""

    def __init__(self, text: str, tree: ast.expr, first_use: Mapping[str, ast.Name]) -> None:
        self.text = text
        self.names = tuple(first_use)  # the variables, in order of first appearance
        self._tree = tree
        self._first_use = dict(first_use)
        self._columns = _Columns(text)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, values: Mapping[str, float | Value], *, labels: bool = False) -> Value:
        """Build the graph; a number in values becomes a leaf Value labelled with its name.

        With ``labels=True`` every computed Value is labelled with its piece of the text
        (``x*w``), cut short past 24 characters, so that a drawing reads like the expression.

        >>> y = parse("tanh(x*w + b)").evaluate({"x": 0.5, "w": -1.5, "b": 0.1})
        >>> round(y.data, 4)
        -0.5717
        """
        missing = [name for name in self.names if name not in values]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            msg = f"no value for {listed}: bind each variable, as in {missing[0]}=0.5"
            raise _error_at(msg, self.text, self._first_use[missing[0]])
        for name in values:
            if name not in self.names:
                msg = f"{name!r} is given a value, but the expression has no {name!r}"
                raise ExpressionError(msg, self.text)
        leaves = {
            name: value if isinstance(value, Value) else Value(value, label=name)
            for name, value in values.items()
        }
        result = self._run(leaves, labels)
        if not isinstance(result, Value):
            msg = "the expression has no variables, so there is nothing to differentiate"
            raise ExpressionError(msg, self.text)
        return result

    def _run(self, leaves: Mapping[str, Value], labels: bool) -> Operand:
        """Evaluate the tree children-first with an explicit stack: no recursion."""
        results: list[Operand] = []
        stack: list[tuple[ast.expr, bool]] = [(self._tree, False)]
        while stack:
            node, children_done = stack.pop()
            children = _children(node)
            if not children_done:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children))
                continue
            arguments = results[len(results) - len(children) :]
            del results[len(results) - len(children) :]
            result = self._apply(node, arguments, leaves)
            # Label only a node made here: +x returns x itself, which keeps its own name.
            made_here = all(result is not argument for argument in arguments)
            if labels and children and made_here and isinstance(result, Value) and not result.label:
                result.label = self._piece(node)
            results.append(result)
        return results[0]

    def _piece(self, node: ast.expr) -> str:
        """The text of node, shortened for a label."""
        column, width = _span(self.text, node, self._columns)
        piece = self.text[column : column + width]
        return piece if len(piece) <= 24 else piece[:23] + "…"

    def _apply(self, node: ast.expr, args: list[Operand], leaves: Mapping[str, Value]) -> Operand:
        """One node's result from its children's; numbers alone fold into a number."""
        try:
            return _apply(node, args, leaves)
        except ExpressionError:
            raise
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise _error_at(str(exc), self.text, node) from None


def parse(text: str) -> Expression:
    """Parse and check an expression; raise ExpressionError pointing at anything not allowed."""
    if not isinstance(text, str):
        msg = f"parse() needs the expression as a str, got {type(text).__name__}: {text!r}"
        raise TypeError(msg)
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be on one line", text.splitlines()[0])
    for column, character in enumerate(text):
        if "\ud800" <= character <= "\udfff" or not character.isprintable():
            # An undecodable byte from the shell arrives as a lone surrogate; a control
            # character would garble the message that points at it.
            shown = ascii(character)[1:-1]
            msg = f"the expression contains a character that is not printable text ({shown})"
            printable = "".join(
                c if c.isprintable() and not "\ud800" <= c <= "\udfff" else "?" for c in text
            )
            raise ExpressionError(msg, printable, column)
    body = text.lstrip(" \t")
    if not body.strip():
        raise ExpressionError("the expression is empty", text)
    indent = len(text) - len(body)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        column = indent + (exc.offset - 1 if exc.offset else len(body))
        end = indent + exc.end_offset - 1 if exc.end_offset and exc.lineno == exc.end_lineno else 0
        msg = f"invalid syntax: {exc.msg}"
        raise ExpressionError(msg, text, min(column, len(text)), end - column) from None
    except (RecursionError, MemoryError):
        # CPython builds the tree recursively in C: a few thousand levels exhaust it.
        msg = "the expression is nested too deeply for Python's parser; make it shorter"
        raise ExpressionError(msg, text) from None
    if indent:
        for node in ast.walk(tree):
            if isinstance(node, ast.expr):
                node.col_offset += indent
                if node.end_col_offset is not None:
                    node.end_col_offset += indent
    first_use = _check(tree.body, text)
    return Expression(text, tree.body, first_use)


# ---------------------------------------------------------------------------------------------
# The whitelist
# ---------------------------------------------------------------------------------------------


def _check(root: ast.expr, text: str) -> dict[str, ast.Name]:
    """Refuse every node outside the whitelist; return each variable's first use, in text order."""
    first_use: dict[str, ast.Name] = {}
    # Function names and dot()'s lists are allowed only where a call puts them.
    callee_ids: set[int] = set()
    list_ids: set[int] = set()
    stack: list[ast.expr] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            _check_number(node, text)
        elif isinstance(node, ast.Name):
            if id(node) in callee_ids:
                continue
            if node.id in FUNCTIONS:
                msg = f"{node.id} is a function: call it, as in {node.id}(x)"
                raise _error_at(msg, text, node)
            if node.id not in first_use or node.col_offset < first_use[node.id].col_offset:
                first_use[node.id] = node
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                msg = f"the operator {symbol} is not supported (use + - * / **)"
                raise _error_at(msg, text, node)
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                msg = f"the operator {symbol} is not supported (use + - * / **)"
                raise _error_at(msg, text, node)
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            _check_call(node, text)
            callee_ids.add(id(node.func))
            if isinstance(node.func, ast.Name) and node.func.id in _TAKES_LISTS:
                list_ids.update(id(arg) for arg in node.args if isinstance(arg, ast.List))
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.List) and id(node) in list_ids:
            stack.extend(reversed(node.elts))
        elif isinstance(node, ast.List):
            where = " or ".join(f"{name}()" for name in _TAKES_LISTS)
            raise _error_at(f"a list is only allowed as an argument of {where}", text, node)
        else:
            what = _SYNTAX_NAMES.get(type(node), type(node).__name__)
            msg = f"{what} is not allowed; use numbers, names, + - * / ** and function calls"
            raise _error_at(msg, text, node)
    ordered = sorted(first_use.values(), key=lambda node: node.col_offset)
    return {node.id: node for node in ordered}


def _check_number(node: ast.Constant, text: str) -> None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"only real numbers are allowed as constants, got {value!r}"
        raise _error_at(msg, text, node)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        finite = False
    if not finite:
        raise _error_at("this number is too large for a float", text, node)


def _check_call(node: ast.Call, text: str) -> None:
    if not isinstance(node.func, ast.Name):
        what = _SYNTAX_NAMES.get(type(node.func), "calling the result of an expression")
        msg = f"{what} is not allowed; call a function by its name, as in exp(x)"
        raise _error_at(msg, text, node.func)
    name = node.func.id
    if name not in FUNCTIONS:
        close = difflib.get_close_matches(name, FUNCTIONS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        msg = f"unknown function {name!r}: {hint}the functions are {', '.join(FUNCTIONS)}"
        raise _error_at(msg, text, node.func)
    if node.keywords:
        raise _error_at(f"{name}() takes no keyword arguments", text, node.keywords[0].value)
    entry = _CALLABLE[name]
    count = len(node.args)
    if name == "dot":
        if count != 2 or not all(isinstance(arg, ast.List) for arg in node.args):
            msg = "dot() takes two lists of the same length, as in dot([w1, w2], [x1, x2])"
            raise _error_at(msg, text, node)
        ws, xs = node.args
        assert isinstance(ws, ast.List) and isinstance(xs, ast.List)  # checked just above
        if len(ws.elts) != len(xs.elts) or not ws.elts:
            sizes = f"{len(ws.elts)} and {len(xs.elts)}"
            msg = f"dot() needs two non-empty lists of the same length, got {sizes}"
            raise _error_at(msg, text, node)
        return
    if entry.arity == VARIADIC and entry.params:
        # log_softmax([a, b, c], 2): the inputs as a list, then the constants.
        fits = count == 1 + len(entry.params) and isinstance(node.args[0], ast.List)
        if not fits or not node.args[0].elts:  # type: ignore[attr-defined]
            msg = (
                f"{name}() takes a non-empty list, then {', '.join(entry.params)}: {_usage(entry)}"
            )
            raise _error_at(msg, text, node)
        return
    if entry.arity == VARIADIC:
        if count == 0:
            raise _error_at(f"{name}() needs at least 1 argument", text, node)
        return
    least = entry.arity + len(entry.params) - len(entry.defaults)
    most = entry.arity + len(entry.params)
    if not least <= count <= most:
        wanted = f"{least}" if least == most else f"{least} to {most}"
        noun = "argument" if most == 1 else "arguments"
        msg = f"{name}() takes {wanted} {noun}, got {count}: {_usage(entry)}"
        raise _error_at(msg, text, node)


def _usage(entry: Operation) -> str:
    """How to call an operation in an expression: ``clamp(x, low, high)``."""
    if entry.name == "dot":
        return "dot([w1, w2], [x1, x2])"
    if entry.arity == VARIADIC:
        inputs = "[a, b, ...]" if entry.params else "a, b, ..."
    else:
        inputs = ", ".join("xyzw"[i] for i in range(entry.arity))
    names = [inputs, *entry.params]
    return f"{entry.name}({', '.join(names)})"


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _children(node: ast.expr) -> Sequence[ast.expr]:
    if isinstance(node, ast.BinOp):
        return (node.left, node.right)
    if isinstance(node, ast.UnaryOp):
        return (node.operand,)
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.List):
        return node.elts
    return ()


def _apply(node: ast.expr, args: list[Operand], leaves: Mapping[str, Value]) -> Operand:
    """What one checked node computes from its children's results."""
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # checked by _check_number
        return float(node.value)
    if isinstance(node, ast.Name):
        return leaves[node.id]  # evaluate() has checked that every name has a value
    if isinstance(node, ast.List):
        return [_scalar(arg) for arg in args]
    if isinstance(node, ast.UnaryOp):
        (x,) = args
        x = _scalar(x)
        if isinstance(node.op, ast.UAdd):
            return x
        return -x
    if isinstance(node, ast.BinOp):
        left, right = _scalar(args[0]), _scalar(args[1])
        symbol = _BINARY[type(node.op)]
        if isinstance(left, float) and isinstance(right, float):
            # Numbers alone fold into one constant, computed by the engine for its checks:
            # (-8) ** (1/3) is an error, not a complex number.
            with no_grad():
                folded = _binary(symbol, Value(left), right)
            assert isinstance(folded, Value)
            return folded.data
        return _binary(symbol, left, right)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)  # checked by _check_call
        return _call(node.func.id, args)
    msg = f"unexpected {type(node).__name__} (a bug in the checker)"
    raise AssertionError(msg)


def _scalar(x: Operand) -> float | Value:
    assert not isinstance(x, list)  # lists appear only as dot()'s arguments
    return x


def _binary(symbol: str, left: float | Value, right: float | Value) -> float | Value:
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left - right
    if symbol == "*":
        return left * right
    if symbol == "/":
        return left / right
    return left**right


def _call(name: str, args: list[Operand]) -> Operand:
    """Call one of FUNCTIONS; with numbers alone, fold the result into a number."""
    entry = _CALLABLE[name]
    if name == "dot":
        ws, xs = args
        assert isinstance(ws, list) and isinstance(xs, list)
        return _fold(lambda ws, xs: engine.dot(ws, xs), [*ws, *xs], len(ws))
    if entry.arity == VARIADIC and entry.params:
        values, *params = args
        assert isinstance(values, list)
        constants = [_constant(p, entry, i) for i, p in enumerate(params)]
        function = getattr(engine, name)
        return _fold(lambda *xs: function(xs, *constants), values)
    scalars = [_scalar(arg) for arg in args]
    if entry.arity == VARIADIC:
        function = getattr(engine, name)
        return _fold(lambda *xs: function(xs), scalars)
    operands = scalars[: entry.arity]
    constants = [_constant(p, entry, i) for i, p in enumerate(scalars[entry.arity :])]
    method = getattr(Value, name)
    return _fold(lambda *xs: method(*xs, *constants), operands)


def _constant(x: Operand, entry: Operation, i: int) -> float | int:
    """A constant argument of an operation: a number, never an expression of variables."""
    if not isinstance(x, float):
        msg = f"{entry.name}()'s {entry.params[i]} must be a number, not an expression of variables"
        raise ValueError(msg)
    if entry.params[i] in ("ndigits", "index"):
        if not x.is_integer():
            msg = f"{entry.name}()'s {entry.params[i]} must be a whole number, got {x!r}"
            raise ValueError(msg)
        return int(x)
    return x


def _fold(
    function: Callable[..., Value], operands: list[float | Value], split: int | None = None
) -> float | Value:
    """function of the operands; with numbers alone, computed once and folded into a number."""
    if all(isinstance(v, float) for v in operands):
        with no_grad():
            nodes = [Value(v) if isinstance(v, float) else v for v in operands]
            result = function(nodes[:split], nodes[split:]) if split else function(*nodes)
        return result.data
    if split:
        return function(operands[:split], operands[split:])
    return function(*operands)


class _Columns:
    """Character columns of a text from the UTF-8 byte offsets that ast reports, in O(1) each."""

    def __init__(self, text: str) -> None:
        # One table for the whole text, made once: converting per node would be quadratic.
        self._table: list[int] | None = None
        if not text.isascii():
            table = []
            for i, character in enumerate(text):
                table.extend([i] * len(character.encode("utf-8", "surrogatepass")))
            table.append(len(text))
            self._table = table

    def __call__(self, offset: int) -> int:
        if self._table is None:
            return offset
        return self._table[min(offset, len(self._table) - 1)]


def _span(text: str, node: ast.AST, columns: _Columns | None = None) -> tuple[int, int]:
    """Where node's text starts in text, and its length, in characters."""
    columns = columns or _Columns(text)
    start: int = getattr(node, "col_offset", 0)
    end: int | None = getattr(node, "end_col_offset", None)
    column = columns(start)
    width = columns(end) - column if end is not None else 1
    return column, width


def _error_at(message: str, text: str, node: ast.AST) -> ExpressionError:
    """An ExpressionError whose carets cover the node's text."""
    if not hasattr(node, "col_offset"):
        return ExpressionError(message, text)
    column, width = _span(text, node)
    return ExpressionError(message, text, column, width)


def parse_binding(text: str) -> tuple[str, float]:
    """``"x=0.5"`` as ``("x", 0.5)``; ExpressionError when it is not NAME=NUMBER."""
    name, sep, number = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or keyword.iskeyword(name):
        msg = f"expected NAME=NUMBER, as in x=0.5, got {text!r}"
        raise ExpressionError(msg, text)
    if name in FUNCTIONS:
        msg = f"{name!r} is a function name; choose another variable name"
        raise ExpressionError(msg, text, 0, len(name))
    try:
        value = float(number)
    except ValueError:
        msg = f"{name}= needs a number, got {number!r}"
        raise ExpressionError(msg, text, len(text) - len(number), len(number)) from None
    return name, value
