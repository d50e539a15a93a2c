"""The benchmark of autograd_lite against micrograd, PyTorch and hand-written backprop.

`engines` holds one adapter per engine, `workloads` times them side by side, and `run` is the
command line (`python bench/run.py`). Nothing here is part of the installed package.
"""
