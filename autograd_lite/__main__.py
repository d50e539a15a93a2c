"""``python -m autograd_lite``: the command line of `autograd_lite.cli`."""

from autograd_lite.cli import main

# Guarded: importing this module (pytest --doctest-modules does) must not run the command line.
if __name__ == "__main__":
    raise SystemExit(main(prog="python -m autograd_lite"))
