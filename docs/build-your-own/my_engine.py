"""My own reverse-mode autodiff engine: the starter file of docs/build-your-own.md.

Copy it, fill in the TODOs one exercise at a time, and after each one run:
    python -m autograd_lite.tutor check my_engine.py
"""

import math  # noqa: F401  # exercise 1 needs it

# ---------------------------------------------------------------------------------------------
# Step 1. A node: its number, its gradient, its parents and its local derivatives
# ---------------------------------------------------------------------------------------------


class Value:
    """A number in a computation graph, with the gradient backward() gives it."""

    def __init__(self, data, parents=(), partials=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = tuple(parents)  # the inputs of the operation that made this node
        self.partials = tuple(partials)  # d(this node)/d(parent), one number per parent
        self.op = op  # "+", "*", "exp", ...: for printing ("" for a leaf)

    def __repr__(self):
        return f"Value(data={self.data:g}, grad={self.grad:g})"

    def __add__(self, other):
        return apply("+", add_rule, self, other)

    def __radd__(self, other):
        return apply("+", add_rule, other, self)

    def __sub__(self, other):
        return apply("-", sub_rule, self, other)

    def __rsub__(self, other):
        return apply("-", sub_rule, other, self)

    def __mul__(self, other):
        return apply("*", mul_rule, self, other)

    def __rmul__(self, other):
        return apply("*", mul_rule, other, self)

    def __truediv__(self, other):
        return apply("/", div_rule, self, other)

    def __rtruediv__(self, other):
        return apply("/", div_rule, other, self)

    def __neg__(self):
        return apply("neg", neg_rule, self)

    def __pow__(self, exponent):
        return apply(f"**{exponent:g}", power_rule, self, constants=(exponent,))

    def exp(self):
        return apply("exp", exp_rule, self)

    def tanh(self):
        return apply("tanh", tanh_rule, self)

    def relu(self):
        return apply("relu", relu_rule, self)


def apply(op, rule, *inputs, constants=()):
    """Run a rule on the inputs' numbers and record its result as a new node."""
    parents = [x if isinstance(x, Value) else Value(x) for x in inputs]
    data, partials = rule(*[p.data for p in parents], *constants)
    return Value(data, parents, partials, op)


# ---------------------------------------------------------------------------------------------
# Step 2. Rules: plain functions on floats that return (value, local partial derivatives)
# ---------------------------------------------------------------------------------------------


def add_rule(x, y):
    # d/dx (x + y) = 1, d/dy (x + y) = 1
    return x + y, (1.0, 1.0)


def sub_rule(x, y):
    # d/dx (x - y) = 1, d/dy (x - y) = -1
    return x - y, (1.0, -1.0)


def mul_rule(x, y):
    # d/dx (x * y) = y, d/dy (x * y) = x
    return x * y, (y, x)


def neg_rule(x):
    # d/dx (-x) = -1
    return -x, (-1.0,)


def power_rule(x, c):
    # d/dx x**c = c * x**(c - 1), for a constant c
    return x**c, (c * x ** (c - 1),)


def relu_rule(x):
    # d/dx relu(x) = 1 where x > 0, else 0
    return (x, (1.0,)) if x > 0 else (0.0, (0.0,))


# Exercise 1: three more rules.


def exp_rule(x):
    """Exercise 1a: e ** x, and (its derivative,)."""
    # TODO: compute out = e ** x (math.exp) and return it with a tuple of one partial
    # derivative: the derivative of e ** x is e ** x itself, so reuse out.
    raise NotImplementedError("exercise 1a: exp_rule")


def tanh_rule(x):
    """Exercise 1b: tanh(x), and (its derivative,)."""
    # TODO: compute out = tanh(x) (math.tanh) and return it with (d/dx tanh(x),).
    # The derivative can be written with out alone: d/dx tanh(x) = 1 - tanh(x) ** 2.
    raise NotImplementedError("exercise 1b: tanh_rule")


def div_rule(x, y):
    """Exercise 1c: x / y, and (its derivative with respect to x, with respect to y)."""
    # TODO: return x / y with two partials, in the order of the inputs: (d/dx, d/dy).
    # Treat y as a constant for d/dx, and x as a constant for d/dy (think of x * y ** -1).
    raise NotImplementedError("exercise 1c: div_rule")


# ---------------------------------------------------------------------------------------------
# Step 3. Exercise 2: every node the root depends on, each after its parents
# ---------------------------------------------------------------------------------------------


def topological_order(root):
    """Exercise 2: every node root depends on, root included, once each, after its parents."""
    # TODO: return a list of nodes in which every node comes after all of its parents.
    # - Keep a set of the nodes already visited, so that a shared node is listed once.
    # - Do not call topological_order from inside itself: a graph 10,000 nodes deep would
    #   exceed Python's recursion limit. Use a list as a stack instead: push (node, False)
    #   to visit a node's parents first, (node, True) to add the node once they are done.
    raise NotImplementedError("exercise 2: topological_order")


# ---------------------------------------------------------------------------------------------
# Step 4. Exercise 3: the sweep, the chain rule from the root back to the leaves
# ---------------------------------------------------------------------------------------------


def backward(root):
    """Exercise 3: leave in every node's grad d(root)/d(node), whatever was there before."""
    # TODO: get the topological order of root's graph. Start every node's gradient at 0,
    # and root's at 1 (d(root)/d(root) = 1). Then walk the order backwards: each node adds
    # (its partial for that parent) × (its own gradient) to the gradient of each parent.
    raise NotImplementedError("exercise 3: backward")


# ---------------------------------------------------------------------------------------------
# Step 5. Learning: gradient descent, and exercise 4, momentum
# ---------------------------------------------------------------------------------------------


def sgd_step(params, lr):
    """One step of gradient descent: data ← data − lr·grad, for every parameter."""
    for p in params:
        p.data -= lr * p.grad


def momentum_step(params, velocity, lr, beta):
    """Exercise 4: one heavy-ball step for every parameter; velocity is a list, updated in place."""
    # TODO: for each parameter (i its position in params): decay its velocity by beta and
    # add the parameter's gradient; then move the parameter by lr times that velocity,
    # downhill. Update velocity[i] itself: the next step needs it.
    raise NotImplementedError("exercise 4: momentum_step")
