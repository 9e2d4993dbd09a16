"""Step 1, rows to records: database rows read in bounded memory and turned into the values of
Django's "python" serializer (field conversion, date columns, many-to-many ids, disk spills).
:mod:`exporter.batches` is this step's entry point."""
