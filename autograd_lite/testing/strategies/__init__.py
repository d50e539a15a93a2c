"""Hypothesis strategies for gradient tests: operations' domains, random expressions and DAGs.

What a test calls: `bounded_floats`, `domain` and `arguments` for one operation's inputs;
`expressions`, `dags` and `cases` for random expressions valid by construction; `custom_op` to
let your own operation take part; `describe` and `evaluate` to read and run a description. `OPS`
holds every built-in operation as the strategies see it. Needs hypothesis: the ``testing``
extra (``pip install 'autograd-lite[testing]'``); the mpmath backend also needs mpmath.
"""

from __future__ import annotations

try:
    import hypothesis as _hypothesis  # noqa: F401  # imported first, to explain its absence
except ImportError as _error:
    _msg = (
        "autograd_lite.testing.strategies needs the `hypothesis` package: "
        "pip install 'autograd-lite[testing]' (gradcheck and gradgradcheck need nothing extra)"
    )
    raise ImportError(_msg) from _error

from autograd_lite.testing.strategies._exprs import (
    Arg,
    Case,
    Expr,
    Step,
    cases,
    dags,
    describe,
    evaluate,
    expressions,
    points,
)
from autograd_lite.testing.strategies._ops import (
    OPS,
    OpSpec,
    arguments,
    bounded_floats,
    custom_op,
    domain,
)

__all__ = [
    "OPS",
    "Arg",
    "Case",
    "Expr",
    "OpSpec",
    "Step",
    "arguments",
    "bounded_floats",
    "cases",
    "custom_op",
    "dags",
    "describe",
    "domain",
    "evaluate",
    "expressions",
    "points",
]
