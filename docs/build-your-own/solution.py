"""A minimal reverse-mode autodiff engine: the reference solution of docs/build-your-own.md.

Check it, or your own copy of the starter, with:
    python -m autograd_lite.tutor check docs/build-your-own/solution.py
"""

import math

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
    out = math.exp(x)
    # d/dx e**x = e**x: reuse the output
    return out, (out,)


def tanh_rule(x):
    """Exercise 1b: tanh(x), and (its derivative,)."""
    out = math.tanh(x)
    # d/dx tanh(x) = 1 - tanh(x)**2: reuse the output
    return out, (1.0 - out * out,)


def div_rule(x, y):
    """Exercise 1c: x / y, and (its derivative with respect to x, with respect to y)."""
    # d/dx (x / y) = 1 / y, d/dy (x / y) = -x / y**2
    return x / y, (1.0 / y, -x / (y * y))


# ---------------------------------------------------------------------------------------------
# Step 3. Exercise 2: every node the root depends on, each after its parents
# ---------------------------------------------------------------------------------------------


def topological_order(root):
    """Exercise 2: every node root depends on, root included, once each, after its parents."""
    order = []
    visited = set()
    stack = [(root, False)]  # (node, are its parents done?): an explicit stack, no recursion
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # comes back to it once its parents are in the order
            for parent in node.parents:
                if parent not in visited:
                    stack.append((parent, False))
    return order


# ---------------------------------------------------------------------------------------------
# Step 4. Exercise 3: the sweep, the chain rule from the root back to the leaves
# ---------------------------------------------------------------------------------------------


def backward(root):
    """Exercise 3: leave in every node's grad d(root)/d(node), whatever was there before."""
    order = topological_order(root)
    for node in order:
        node.grad = 0.0  # every gradient starts afresh: a second call gives the same numbers
    root.grad = 1.0
    for node in reversed(order):  # a node's gradient is complete before it is passed on
        for parent, partial in zip(node.parents, node.partials):
            parent.grad += partial * node.grad


# ---------------------------------------------------------------------------------------------
# Step 5. Learning: gradient descent, and exercise 4, momentum
# ---------------------------------------------------------------------------------------------


def sgd_step(params, lr):
    """One step of gradient descent: data ← data − lr·grad, for every parameter."""
    for p in params:
        p.data -= lr * p.grad


def momentum_step(params, velocity, lr, beta):
    """Exercise 4: one heavy-ball step for every parameter; velocity is a list, updated in place."""
    for i, p in enumerate(params):
        velocity[i] = beta * velocity[i] + p.grad
        p.data -= lr * velocity[i]
