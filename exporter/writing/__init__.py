"""Step 2, records to bytes: the classic exporter's exact JSON encoding, made fast, and the
helpers that write a file's bytes. :mod:`exporter.stream_writer` is this step's entry point."""
