"""Hypothesis profiles. The property tests (loader and expression fuzzing) draw the same examples on every
run by default, so the suite passes or fails the same way on every machine, CI included; `--hypothesis-profile
explore` draws new examples each run, to look for new bugs (a failure it finds becomes a fixed test case)."""

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("deterministic")
