"""Scenario files: bounded YAML with positions (`source`), loading and `--set` (`loader`), the format (`schema`,
`parameters`), cross-reference checks (`references`) and the condition language (`conditions`).

Imports nothing from the engine, the Monte Carlo or the outputs.
"""
