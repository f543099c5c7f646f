"""The `escalsim` command line: one click group, its commands in modules by what they work on.

`scenario_cmds` (validate, trace, schema) work on scenario files; `run_cmd` (run) writes a results directory;
`output_cmds` (plot, report) read one. `common` holds what they share. The CLI only calls the layers below it.
"""

from __future__ import annotations

import click

from escalsim import __version__
from escalsim.cli.output_cmds import plot, report
from escalsim.cli.run_cmd import run
from escalsim.cli.scenario_cmds import schema, schema_text, trace, validate

__all__ = ["main", "schema_text"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escalsim")
def main() -> None:
    """Escalation scenarios as discrete-event Monte Carlo models.

    Exit codes: 0 success, 1 invalid scenario or results directory, 2 bad command-line usage,
    130 interrupted (finished runs are kept).
    """


for _command in (validate, trace, run, plot, report, schema):
    main.add_command(_command)
