"""A first check that the engine imports and differentiates."""

from autograd_lite import Value


def test_tanh_neuron_gradient() -> None:
    """The README's first example gives the closed-form gradient."""
    x, w = Value(2.0), Value(-3.0)
    y = (x * w + 1).tanh()
    y.backward()
    slope = 1 - y.data**2
    assert x.grad == slope * -3.0
    assert w.grad == slope * 2.0
