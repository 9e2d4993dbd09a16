"""Step 2, records to bytes: the classic exporter's exact JSON encoding, made fast, and the
garbage-collector pause held while a manifest streams. :mod:`exporter.stream_writer` is this
step's entry point."""
