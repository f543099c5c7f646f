"""Many runs of a scenario into a results directory: `runs` (run, resume, Settings), `batches` (a job cut into
ordered batches), `backends` (serial, process pool, Dask behind one protocol), `records` (RunRecords to columns),
`store` (the results directory, written atomically) and `results` (reading it back).

Imports the engine and the scenario layer, never the outputs.
"""
