"""What users read, from a results object (runs, levels, traces, manifest):

- `analysis`: probabilities with Wilson intervals, quantiles; `tables`: the printed summary and its CSVs;
- `plots`: the figures' public face (`escalsim.plots`), drawn by theme in `fan`, `passage`, `variables`,
  `drivers` and `timeline` (one run), with the shared look in `style`;
- `report`: one HTML page; `labels`: how shares, numbers, dates and names are written; `contract`: what the
  outputs read from a results object, checked in one place.

Outputs never import the engine or the Monte Carlo: they show what was recorded and never simulate.
"""
