"""Plain tests that pin the engine's semantics: graph shapes, accumulation, no_grad, errors.

The oracle tests of every rule (mpmath, closed forms, PyTorch) live in test_rules.py and
test_random_graphs.py; here each behaviour a user relies on gets one readable example.
"""

from __future__ import annotations

import builtins
import fractions
import gc
import math
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

import autograd_lite as al
from autograd_lite import Value, no_grad, primitive, topological_order
from autograd_lite.rules import OPERATIONS

# --- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [3, 2.5, fractions.Fraction(1, 4), 10**300])
def test_data_is_always_a_float(raw: float) -> None:
    """Ints and other real numbers are stored as Python floats."""
    v = Value(raw)
    assert type(v.data) is float
    assert v.data == float(raw)
    assert type(v.grad) is float


@pytest.mark.parametrize("bad", ["a", None, 1 + 2j, [1.0], True, False])
def test_value_rejects_non_real_data(bad: object) -> None:
    """Value() of a non-number (a bool included: it is a flag) raises TypeError naming it."""
    with pytest.raises(
        TypeError, match=rf"Value\(\) must be a real number, got {type(bad).__name__}: "
    ):
        Value(bad)  # type: ignore[arg-type]


def test_an_int_beyond_the_float_range_is_named_by_every_operation() -> None:
    """10**400 is no float: Value() and every operator say which call got it."""
    huge = 10**400
    with pytest.raises(ValueError, match=r"Value\(\) must fit in a float .* got int: 1000"):
        Value(huge)
    x = Value(1.0)
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: x + huge, "add"),
        (lambda: huge * x, "mul"),
        (lambda: x - huge, "sub"),
        (lambda: x / huge, "div"),
        (lambda: x**huge, "pow_const"),
        (lambda: huge**x, "pow"),
        (lambda: al.sum([x, huge]), "sum"),
        (lambda: x.maximum(huge), "maximum"),
    ]
    for make, name in calls:
        with pytest.raises(ValueError, match=rf"{name}\(\) .*must fit in a float"):
            make()


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x + True,
        lambda x: True * x,
        lambda x: x**True,
        lambda x: al.sum([x, True]),
        lambda x: x.leaky_relu(True),
        lambda x: x.backward(True),
    ],
)
def test_a_bool_is_never_a_number(make: Callable[[Value], object]) -> None:
    """One rule everywhere: True is a flag, so it is refused wherever a number is expected."""
    with pytest.raises(TypeError):
        make(Value(2.0))


def test_value_of_a_value_is_refused_with_a_hint() -> None:
    """Wrapping a Value in a Value is a mistake; the message says what to use instead."""
    with pytest.raises(TypeError, match=r"got a Value \(use \.data"):
        Value(Value(1.0))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["a", None, 1 + 2j])
@pytest.mark.parametrize(
    "op",
    [
        lambda v, o: v + o,
        lambda v, o: o + v,
        lambda v, o: v - o,
        lambda v, o: o - v,
        lambda v, o: v * o,
        lambda v, o: o * v,
        lambda v, o: v / o,
        lambda v, o: o / v,
        lambda v, o: v**o,
        lambda v, o: o**v,
    ],
)
def test_operands_that_are_not_real_numbers_raise_type_error(
    op: Callable[[Value, object], Value], bad: object
) -> None:
    """Python's own TypeError, because the operators return NotImplemented."""
    with pytest.raises(TypeError):
        op(Value(2.0), bad)


def test_values_compare_by_data_and_hash_by_identity() -> None:
    """== and < compare numbers, as floats do; sets and dicts still hold nodes."""
    a, b = Value(1.0), Value(1.0)
    assert a == b and (a != b) is False and a == 1.0 and a == 1
    assert (a == b) + 0.0 == 1.0  # no silently wrong number from identity
    assert len({a, b, a}) == 2 and {a: 1, b: 2}[a] == 1
    assert not hasattr(a, "__dict__")  # __slots__
    small, big = Value(-2.0), Value(3.0)
    assert small < big <= 3 and big > 0 and small <= 0 and not (big < small)
    assert max(small, big) is big and min(small, 0.5) is small
    assert sorted([big, small, a]) == [small, a, big]
    assert bool(Value(0.0)) is False and bool(big) is True
    assert Value(1.0) < 10**400  # ints compare exactly, as with floats
    assert Value(math.nan) != Value(math.nan)
    with pytest.raises(TypeError):
        _ = a < "1"  # type: ignore[operator]
    assert (a == "1") is False


def test_data_assignment_keeps_a_float() -> None:
    """.data takes numbers and Values (their number, as PyTorch's .data), never a bool or str."""
    x = Value(1.0)
    x.data = 2
    assert type(x.data) is float and x.data == 2.0
    y = Value(3.0)
    x.grad = y * 2.0  # as after backward(create_graph=True)
    x.data -= 0.5 * x.grad
    assert type(x.data) is float and x.data == -1.0
    with pytest.raises(TypeError, match=r"Value\.data must be a real number, got str"):
        x.data = "1"
    with pytest.raises(TypeError, match="bool"):
        x.data = True
    assert x.data == -1.0


def test_repr_and_format() -> None:
    """repr shows data, grad and label; format specs apply to the data."""
    v = Value(1.5, label="x")
    assert repr(v) == "Value(data=1.5, grad=0.0, label='x')"
    assert f"{v:.2f}" == "1.50"
    assert float(v) == 1.5


# --- graph shape -----------------------------------------------------------------------------


def test_square_by_self_records_two_edges() -> None:
    """a * a has the same parent twice, so its gradient is 2a."""
    a = Value(3.0)
    b = a * a
    assert b.parents == (a, a)
    b.backward()
    assert a.grad == 6.0


def test_fan_out_sums_the_paths() -> None:
    """A node used by several consumers receives the sum of their contributions."""
    x = Value(2.0)
    y = x * 3 + x * x + x.exp()
    y.backward()
    assert x.grad == pytest.approx(3 + 2 * 2 + math.exp(2), rel=1e-15)


def test_numbers_become_constant_leaves() -> None:
    """A number inside an expression becomes a constant node, drawn and walked like any leaf."""
    x = Value(2.0)
    y = 3 * x
    constant, parent = y.parents
    assert constant.op == "const" and constant.data == 3.0 and constant.is_leaf
    assert parent is x
    assert x.op == "" and y.op == "mul"


def test_constant_exponent_is_not_a_node() -> None:
    """x ** 2 has one parent; the exponent is an argument of the operation."""
    x = Value(3.0)
    y = x**2
    assert y.parents == (x,)
    assert y.op == "pow_const" and y._op == "**2"
    y.backward()
    assert x.grad == 6.0


def test_value_exponent_differentiates_both() -> None:
    """x ** y with both Values gives d/dx = y x^(y-1) and d/dy = x^y log x."""
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0
    assert x.grad == pytest.approx(12.0, rel=1e-15)
    assert y.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)


def test_number_to_a_value_power() -> None:
    """2 ** x works and differentiates to 2^x log 2."""
    x = Value(3.0)
    y = 2**x
    y.backward()
    assert y.data == 8.0
    assert x.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)


def test_nary_sum_and_dot_are_single_nodes() -> None:
    """al.sum and al.dot make one node with one edge (and one local derivative) per input."""
    ws = [Value(float(i)) for i in range(1, 5)]
    xs = [Value(float(-i)) for i in range(1, 5)]
    s = al.sum(ws)
    d = al.dot(ws, xs)
    assert s.op == "sum" and len(s.parents) == 4 and s.partials == (1.0,) * 4
    assert d.op == "dot" and len(d.parents) == 8
    assert d.data == -sum(i * i for i in range(1, 5))
    d.backward()
    assert [w.grad for w in ws] == [x.data for x in xs]
    assert [x.grad for x in xs] == [w.data for w in ws]


def test_dot_rejects_unequal_lengths() -> None:
    """dot() of sequences of different lengths names both lengths."""
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        al.dot([1.0, 2.0], [1.0, 2.0, 3.0])


def test_sum_of_nothing_is_zero() -> None:
    """An empty sum is a constant 0, as Python's is."""
    assert al.sum([]).data == 0.0


def test_builtin_sum_over_many_values_still_works() -> None:
    """Python's sum() builds a deep chain; backward copes without recursion."""
    xs = [Value(float(i)) for i in range(5000)]
    total = builtins.sum(xs)
    assert isinstance(total, Value)
    total.backward()
    assert all(x.grad == 1.0 for x in xs)


# --- repeated backward, zero_grad, seeds ----------------------------------------------------


def test_repeated_backward_accumulates_on_leaves_only() -> None:
    """The micrograd trap: a=2, b=a*a, c=3*b; two calls give a.grad == 24, not 36."""
    a = Value(2.0)
    b = a * a
    c = 3 * b
    c.backward()
    assert a.grad == 12.0
    c.backward()
    assert a.grad == 24.0
    assert b.grad == 3.0  # an intermediate holds this sweep's gradient, not a sum
    assert c.grad == 1.0


def test_intermediate_gradients_are_readable_after_backward() -> None:
    """Every node holds d(output)/d(node) after the sweep (the drawings show it)."""
    x = Value(0.5)
    h = x * 4
    y = h.tanh()
    y.backward()
    assert h.grad == pytest.approx(1 - math.tanh(2.0) ** 2, rel=1e-15)


def test_backward_seed() -> None:
    """backward(grad=g) scales every gradient by g."""
    x = Value(3.0)
    y = x * x
    y.backward(grad=0.5)
    assert x.grad == 3.0
    with pytest.raises(TypeError, match="backward"):
        y.backward(grad="1")  # type: ignore[arg-type]


def test_backward_on_a_leaf_accumulates_its_own_seed() -> None:
    """A leaf's gradient with respect to itself is 1, accumulated like any leaf's."""
    x = Value(3.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_zero_grad_on_graph_and_on_list() -> None:
    """Value.zero_grad() clears a whole graph; al.zero_grad() clears the given leaves."""
    a, b = Value(1.0), Value(2.0)
    y = a * b + a
    y.backward()
    y.zero_grad()
    assert [n.grad for n in topological_order(y)] == [0.0] * len(topological_order(y))
    y.backward()
    al.zero_grad([a])
    assert a.grad == 0.0 and b.grad == 1.0


def test_detach_is_a_constant_copy() -> None:
    """detach() keeps the data and cuts the history."""
    x = Value(2.0)
    y = (x * 3).detach()
    z = y * x
    z.backward()
    assert y.is_leaf and y.data == 6.0
    assert x.grad == 6.0  # only the direct path


# --- no_grad ---------------------------------------------------------------------------------


def test_no_grad_makes_constants_and_nests() -> None:
    """Inside no_grad() results have no parents; the mode is restored on exit, even nested."""
    w = Value(2.0)
    with no_grad():
        assert not al.is_grad_enabled()
        with no_grad():
            y = w * w
        z = w.exp()
        assert not al.is_grad_enabled()
    assert al.is_grad_enabled()
    assert y.is_leaf and z.is_leaf and y.data == 4.0
    assert (w * w).parents == (w, w)


def test_no_grad_is_restored_after_an_exception() -> None:
    """An error inside no_grad() does not leave recording switched off."""
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("boom")
    assert al.is_grad_enabled()


def test_no_grad_is_per_thread() -> None:
    """no_grad() in one thread does not switch off recording in another."""
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            release.wait(10)

    def record() -> None:
        seen.append(not (Value(1.0) * 2).is_leaf)

    holder = threading.Thread(target=hold_no_grad)
    holder.start()
    assert inside.wait(10)
    other = threading.Thread(target=record)
    other.start()
    other.join(10)
    release.set()
    holder.join(10)
    assert seen == [True]


# --- kinks, special values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "expected"),
    [("relu", 0.0), ("abs", 0.0)],
)
def test_subgradient_at_zero(method: str, expected: float) -> None:
    """relu'(0) = 0 and abs'(0) = 0, as documented."""
    x = Value(0.0)
    y = abs(x) if method == "abs" else x.relu()
    y.backward()
    assert x.grad == expected
    assert y.data == 0.0 and math.copysign(1.0, y.data) == 1.0


def test_relu_of_a_negative_is_positive_zero_float() -> None:
    """relu never leaks an int or a negative zero into data."""
    y = Value(-3.0).relu()
    assert type(y.data) is float and math.copysign(1.0, y.data) == 1.0


def test_leaky_relu() -> None:
    """leaky_relu passes positives and scales negatives by the slope."""
    x = Value(-2.0)
    y = x.leaky_relu(0.1)
    y.backward()
    assert y.data == pytest.approx(-0.2) and x.grad == 0.1


@pytest.mark.parametrize("x", [1000.0, -1000.0, 1e308, -1e308])
def test_tanh_and_sigmoid_do_not_overflow(x: float) -> None:
    """tanh and sigmoid are finite, with finite gradients, for any finite input."""
    for method in ("tanh", "sigmoid", "softplus"):
        v = Value(x)
        y = getattr(v, method)()
        y.backward()
        assert math.isfinite(y.data) and math.isfinite(float(v.grad)), method


def test_nan_and_inf_propagate_as_ieee_says() -> None:
    """NaN in gives NaN out; infinity follows IEEE arithmetic."""
    nan = Value(math.nan)
    y = nan * 2 + 1
    y.backward()
    assert math.isnan(y.data) and nan.grad == 2.0
    assert math.isnan(Value(math.nan).relu().data)
    assert math.isnan(abs(Value(math.nan)).data)
    inf = Value(math.inf)
    assert (inf.tanh()).data == 1.0
    assert (inf + 1).data == math.inf
    assert math.isnan(inf.sin().data) and math.isnan(Value(-math.inf).cos().data)


# --- domain errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Value(-2.0).log(), ValueError, r"log\(\) needs a positive input, got -2\.0"),
        (lambda: Value(0.0).log(), ValueError, r"log\(\) needs a positive input, got 0\.0"),
        (lambda: Value(-1.0).sqrt(), ValueError, r"sqrt\(\) needs a non-negative input, got -1\.0"),
        (lambda: Value(-1.0).log1p(), ValueError, r"log1p\(\) needs an input greater than -1"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"division by zero: 1\.0 / 0\.0"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, r"division by zero: 1\.0 / 0\.0"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"pow\(\) cannot raise 0\.0"),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, r"negative base -8\.0 needs an integer"),
        (lambda: Value(-8.0) ** Value(0.5), ValueError, r"negative base -8\.0"),
        (lambda: Value(1000.0).exp(), OverflowError, r"exp\(\) overflows for input 1000\.0"),
        (lambda: Value(10.0) ** 400, OverflowError, r"pow\(\) overflows: 10\.0 \*\* 400\.0"),
        (lambda: Value(1.0).leaky_relu("a"), TypeError, r"leaky_relu\(\) slope"),  # type: ignore[arg-type]
    ],
)
def test_domain_errors_name_the_operation_and_value(
    make: Callable[[], Value], error: type[Exception], message: str
) -> None:
    """Bad input raises at the operation, like Python's math, with a message naming both."""
    with pytest.raises(error, match=message):
        make()


def test_negative_base_with_integer_exponent_is_fine() -> None:
    """(-2) ** 3 is real, and so is its derivative."""
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0


def test_slopes_at_the_edge_of_the_domain_are_infinite() -> None:
    """sqrt and x ** 0.5 at 0 have an infinite slope, as the calculus says."""
    makers: list[Callable[[Value], Value]] = [lambda v: v.sqrt(), lambda v: v**0.5]
    for make in makers:
        x = Value(0.0)
        make(x).backward()
        assert x.grad == math.inf


# --- custom primitives -----------------------------------------------------------------------


@primitive
def cube(m: object, x: float) -> tuple[float, tuple[float]]:
    """x ** 3, as a user would define it."""
    return x * x * x, (3 * x * x,)


def test_custom_primitive_behaves_like_a_built_in() -> None:
    """A primitive gets a node with its name, works under no_grad and in higher order."""
    x = Value(2.0)
    y = cube(x)
    assert y.op == "cube" and y.parents == (x,) and y.partials == (12.0,)
    y.backward()
    assert x.grad == 12.0
    with no_grad():
        assert cube(x).is_leaf
    assert al.grad(al.grad(cube))(2.0) == 12.0  # d2/dx2 x^3 = 6x
    assert cube(3).data == 27.0  # numbers are accepted


def test_custom_primitive_checks_its_rule() -> None:
    """A rule with the wrong number of partials, or a non-number, is caught at the op."""

    @primitive
    def broken(m: object, x: float) -> tuple[float, tuple[float, ...]]:
        return x, (1.0, 2.0)

    @primitive
    def wordy(m: object, x: float) -> tuple[object, tuple[float]]:
        return "x", (1.0,)

    with pytest.raises(ValueError, match="broken\\(\\) rule returned 2 partials for 1 inputs"):
        broken(Value(1.0))
    with pytest.raises(TypeError, match="wordy"):
        wordy(Value(1.0))
    with pytest.raises(TypeError, match="cube"):
        cube("x")


def test_every_operation_is_reachable_from_a_value() -> None:
    """Each entry of the operation table is applied by an operator, a method or a function."""
    x, y = Value(0.7), Value(1.3)
    made = {
        (x + y).op,
        (x - y).op,
        (-x).op,
        (x * y).op,
        (x / y).op,
        (x**2).op,
        (x**y).op,
        abs(x).op,
        math.floor(x).op,
        math.ceil(x).op,
        round(x).op,
        al.sum([x, y]).op,
        al.dot([x], [y]).op,
        al.logsumexp([x, y]).op,
        al.log_softmax([x, y], 1).op,
        al.maximum(x, y).op,
        al.minimum(x, y).op,
        al.atan2(x, y).op,
        al.hypot(x, y).op,
        x.clamp(0.0, 1.0).op,
        x.leaky_relu().op,
        x.round(1).op,
    }
    for name, entry in OPERATIONS.items():
        if entry.method and entry.arity == 1 and not entry.params:
            made.add(getattr(x, name)().op)
    assert made == set(OPERATIONS)


def test_every_method_is_declared_for_type_checkers() -> None:
    """The methods made from the table are exactly those Value declares for type checkers."""
    import ast
    import inspect

    import autograd_lite.engine as engine

    tree = ast.parse(inspect.getsource(engine))
    value = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value")
    block = next(n for n in value.body if isinstance(n, ast.If))  # if TYPE_CHECKING:
    declared = {n.name for n in block.body if isinstance(n, ast.FunctionDef)}
    made = set()
    for name, entry in OPERATIONS.items():
        if entry.method:
            made.add(name)
        made.update(op for op in (entry.operator, entry.reflected) if op)
    made -= {"__add__", "__mul__"}  # written out in the class as the worked example
    assert declared == made, (sorted(made - declared), sorted(declared - made))


def test_help_of_a_made_method_reads_like_a_written_one() -> None:
    """help(Value.tanh) shows the name, a signature and the rule's one-line docstring."""
    import pydoc

    text = pydoc.plain(pydoc.render_doc(Value.tanh))
    assert "tanh(self" in text and "Hyperbolic tangent." in text
    assert "slope=0.01" in pydoc.plain(pydoc.render_doc(Value.leaky_relu))
    assert Value.clamp.__doc__ and "low, high" in str(inspect_signature(Value.clamp))


def inspect_signature(f: object) -> object:
    import inspect

    return inspect.signature(f)  # type: ignore[arg-type]


# --- scale and determinism -------------------------------------------------------------------


@pytest.mark.slow
def test_million_node_chain_without_recursion() -> None:
    """A chain of 1,000,000 operations builds, sorts and sweeps back with the default limit."""
    limit = sys.getrecursionlimit()
    a = Value(1.0000001)
    y = Value(1.0)
    for _ in range(1_000_000):
        y = y * a
    y.backward()
    assert sys.getrecursionlimit() == limit
    # d/da a**n = n a**(n-1)
    assert a.grad == pytest.approx(1_000_000 * 1.0000001**999_999, rel=1e-6)
    del y
    gc.collect()


def test_topological_order_puts_parents_first() -> None:
    """Every node comes after all of its parents, and the root comes last."""
    x = Value(1.0)
    h = [x * i for i in range(1, 6)]
    y = al.sum([hi.tanh() for hi in h]) * h[0]
    order = topological_order(y)
    position = {node: i for i, node in enumerate(order)}
    assert order[-1] is y
    assert all(position[p] < position[n] for n in order for p in n.parents)
    assert len(order) == len(set(order))


_DETERMINISM_SCRIPT = """
import random
import autograd_lite as al
rng = random.Random(7)
xs = [al.Value(rng.uniform(-1, 1)) for _ in range(30)]
nodes = list(xs)
for i in range(300):
    a, b = rng.choice(nodes), rng.choice(nodes)
    op = rng.randrange(4)
    c = a * b if op == 0 else a + b if op == 1 else (a - b).tanh() if op == 2 else al.sum([a, b, a])
    nodes.append(c)
y = al.sum(nodes[-50:])
y.backward()
print([x.grad.hex() for x in xs])
"""


def test_gradients_are_bitwise_identical_across_processes() -> None:
    """Two fresh interpreters (different hash seeds, different addresses) agree to the bit."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert runs[0].count("0x") == 30


def test_nary_nodes_follow_ieee_where_exact_summation_gives_up() -> None:
    """sum and dot overflow to inf and give nan for inf - inf, as + does, instead of raising."""
    big = Value(1e308)
    assert al.sum([big, big]).data == math.inf
    assert math.isnan(al.sum([Value(math.inf), Value(-math.inf)]).data)
    assert math.isnan(al.dot([Value(math.inf), 1.0], [1.0, Value(-math.inf)]).data)


def test_star_import_keeps_the_builtin_sum() -> None:
    """`from autograd_lite import *` replaces neither Python's sum() nor its compile()."""
    namespace: dict[str, object] = {}
    exec("from autograd_lite import *", namespace)
    assert "sum" not in namespace and "compile" not in namespace and "Value" in namespace
    assert al.sum([1.0, 2.0]).data == 3.0
