"""`python -m escalsim` is the `escalsim` command."""

from escalsim.cli import main

main()
