"""A reproducible benchmark harness for the exporter: ``python -m benchmarks --help``.

Every measured run is its own child process (:mod:`benchmarks.child`) under a memory cap, against
an archive generated once per (size, seed, database) and cached. The parent measures each child
exactly (wall clock, ``wait4`` rusage), keeps every raw run and writes ``results.json``,
``results.md`` and plots. What is measured is a registry of cases (:mod:`benchmarks.cases`):
data-only exports, exports with files, incremental re-runs, imports and verifies.

The parent imports nothing heavy (no Django, no matplotlib until the end): a forked child's peak
RSS as ``wait4`` reports it starts from the parent's own peak RSS at fork time.
"""
