"""Step 2, records to bytes: the classic exporter's exact JSON encoding, made fast.
:mod:`exporter.stream_writer` is this step's entry point."""
