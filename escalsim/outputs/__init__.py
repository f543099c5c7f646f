"""What users read: `analysis` (intervals and quantiles), `tables` (the printed summary and its CSVs), `plots`
and its figure modules, `style` (the look shared by every figure), `timeline` (one run drawn) and `report` (one
HTML page).

Outputs take a results object (runs, levels, traces, manifest) and never import the engine or the Monte Carlo:
they show what was recorded and never simulate.
"""
