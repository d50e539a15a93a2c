"""The command line's expression language: built from the operation table, labelled in linear time.

Every operation that is a Value method or a package function can be called by name, with its
constant arguments and defaults as the table declares them; labels name the text of each piece,
in characters even where the text is not ASCII, and making them costs one pass over the text.
"""

from __future__ import annotations

import math

import pytest

from autograd_lite import expr
from autograd_lite.expr import FUNCTIONS, ExpressionError, parse
from autograd_lite.rules import OPERATIONS


def test_every_callable_operation_is_an_expression_function() -> None:
    """The function table is the operation table's methods and functions, nothing else."""
    callable_ops = {name for name, entry in OPERATIONS.items() if entry.method or entry.function}
    assert set(FUNCTIONS) == callable_ops
    assert "add" not in FUNCTIONS and "pow_const" not in FUNCTIONS  # written as operators


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("clamp(x, 0, 1)", 1.0),
        ("leaky_relu(-x)", -0.015),
        ("leaky_relu(-x, 0.5)", -0.75),
        ("round(x)", 2.0),
        ("round(x, 1)", 1.5),
        ("maximum(x, 2)", 2.0),
        ("atan2(x, 1)", math.atan2(1.5, 1.0)),
        ("logsumexp(x, x)", 1.5 + math.log(2.0)),
        ("log_softmax([x, 0], 0)", 1.5 - math.log(math.exp(1.5) + 1.0)),
        ("dot([x, 2], [3, x])", 7.5),
        ("sum(x, 1, 2)", 4.5),
    ],
)
def test_operations_with_constants_and_lists_evaluate(text: str, value: float) -> None:
    """Constants, defaults and list arguments follow the table's declaration of each op."""
    assert parse(text).evaluate({"x": 1.5}).data == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clamp(x)", r"clamp\(\) takes 3 arguments, got 1: clamp\(x, low, high\)"),
        ("leaky_relu()", r"leaky_relu\(\) takes 1 to 2 arguments, got 0"),
        ("exp(x, 2)", r"exp\(\) takes 1 argument, got 2: exp\(x\)"),
        ("clamp(x, x, 1)", r"clamp\(\)'s low must be a number, not an expression of variables"),
        ("round(x, 0.5)", r"round\(\)'s ndigits must be a whole number, got 0.5"),
        ("log_softmax(x, 1)", r"log_softmax\(\) takes a non-empty list, then index"),
        ("clamp(x, 1, 0)", r"clamp\(\) needs low <= high"),
        ("[x]", r"a list is only allowed as an argument of dot\(\) or log_softmax\(\)"),
    ],
)
def test_bad_calls_are_pointed_at(text: str, message: str) -> None:
    """Each mistake names the function, what it takes and what it got."""
    with pytest.raises(ExpressionError, match=message):
        parse(text).evaluate({"x": 1.5})


def test_a_character_that_is_not_text_is_refused_with_its_position() -> None:
    """An undecodable byte arrives from a shell as a lone surrogate: named, pointed at."""
    with pytest.raises(ExpressionError, match=r"not printable text \(\\udcff\)") as caught:
        parse("x + \udcff")
    assert caught.value.column == 4


def test_labels_are_characters_of_the_text_even_beyond_ascii() -> None:
    """ast counts columns in UTF-8 bytes; labels are cut from the text in characters."""
    y = parse("tanh(é*x) + exp(é)").evaluate({"é": 0.5, "x": 2.0}, labels=True)
    assert y.label == "tanh(é*x) + exp(é)"
    assert sorted(p.label for p in y.parents) == ["exp(é)", "tanh(é*x)"]


def test_labelling_makes_one_column_table_per_expression(monkeypatch: pytest.MonkeyPatch) -> None:
    """Labelling is linear: the byte-to-character table is made once, not once per node.

    It used to re-encode the whole text for every node it labelled, so a 1 MB expression took
    26 s and a 2 MB one 178 s.
    """
    made: list[int] = []
    original = expr._Columns.__init__

    def counting(self: expr._Columns, text: str) -> None:
        made.append(len(text))
        original(self, text)

    monkeypatch.setattr(expr._Columns, "__init__", counting)
    terms = ", ".join(f"é*{i}" for i in range(20_000))
    y = parse(f"sum({terms})").evaluate({"é": 1.0}, labels=True)
    assert len(made) == 1
    assert y.data == pytest.approx(sum(range(20_000)))
    assert {p.label for p in y.parents[:3]} == {"é*0", "é*1", "é*2"}
