"""Test-suite set-up: the hypothesis settings profile for this run.

With CI set, autograd_lite's "ci" profile extends hypothesis's own: derandomized, no deadline,
no example database. Elsewhere a developer profile: random, no deadline, fewer examples.
"""

from hypothesis import settings

from autograd_lite.testing import settings_profile

settings.load_profile(settings_profile())
