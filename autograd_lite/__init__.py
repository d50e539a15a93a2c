"""autograd_lite: a scalar reverse-mode automatic-differentiation engine for learning backprop.

>>> from autograd_lite import Value
>>> x = Value(2.0, label="x")
>>> w = Value(-3.0, label="w")
>>> y = (x * w + 1).tanh()
>>> y.backward()
"""

from autograd_lite.engine import (
    Op,
    Value,
    dot,
    is_grad_enabled,
    no_grad,
    primitive,
    topological_order,
    zero_grad,
)
from autograd_lite.engine import sum as sum  # autograd_lite.sum, but not in `import *`
from autograd_lite.functional import grad, hessian, hvp, value_and_grad
from autograd_lite.viz import draw_dot, to_dot

__version__ = "0.1.0"

__all__ = [
    "Op",
    "Value",
    "__version__",
    "dot",
    "draw_dot",
    "grad",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "no_grad",
    "primitive",
    # not "sum": `from autograd_lite import *` must not replace the built-in sum()
    "to_dot",
    "topological_order",
    "value_and_grad",
    "zero_grad",
]
