"""``python -m autograd_lite``: the command line of `autograd_lite.cli`."""

from autograd_lite.cli import main

raise SystemExit(main())
