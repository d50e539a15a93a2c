"""autograd_lite: a scalar reverse-mode automatic-differentiation engine for learning backprop.

>>> from autograd_lite import Value
>>> x = Value(2.0, label="x")
>>> w = Value(-3.0, label="w")
>>> y = (x * w + 1).tanh()
>>> y.backward()
>>> round(y.data, 4), round(x.grad, 4)
(-0.9999, -0.0005)
"""

from autograd_lite._compile import Compiled, ReplayMismatch
from autograd_lite._compile import compile as compile  # autograd_lite.compile, not in `import *`
from autograd_lite.anomaly import AnomalyError, detect_anomaly
from autograd_lite.engine import (
    Op,
    RemovableHandle,
    Value,
    atan2,
    dot,
    enable_grad,
    hypot,
    is_grad_enabled,
    log_softmax,
    logsumexp,
    maximum,
    minimum,
    no_grad,
    primitive,
    set_grad_enabled,
    topological_order,
    zero_grad,
)
from autograd_lite.engine import sum as sum  # autograd_lite.sum, but not in `import *`
from autograd_lite.functional import (
    grad,
    gradients,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
)
from autograd_lite.viz import draw_dot, to_dot

__all__ = [
    "AnomalyError",
    "Compiled",
    "Op",
    "RemovableHandle",
    "ReplayMismatch",
    "Value",
    "__version__",
    "atan2",
    # not "compile": `from autograd_lite import *` must not replace the built-in compile()
    "detect_anomaly",
    "dot",
    "draw_dot",
    "enable_grad",
    "grad",
    "gradients",
    "hessian",
    "hvp",
    "hypot",
    "is_grad_enabled",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "log_softmax",
    "logsumexp",
    "maximum",
    "minimum",
    "no_grad",
    "primitive",
    "set_grad_enabled",
    # not "sum": `from autograd_lite import *` must not replace the built-in sum()
    "to_dot",
    "topological_order",
    "value_and_grad",
    "zero_grad",
]

__version__ = "0.2.0"
