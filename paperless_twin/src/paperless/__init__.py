"""The ``paperless`` package of the schema twin: settings, version and the settings singleton."""
