"""`phishline bench e2e`: the app and model-service as real processes, measured together.

`stack` starts and signals the processes, `load` drives them with a bounded async load
generator, `measure` runs the benchmark (concurrency sweep, sustained load at 80 % of the
measured maximum) and `report` writes its JSON, Markdown and PNG files. The reliability tests
(tests/reliability/) use the same stack and load generator.
"""
