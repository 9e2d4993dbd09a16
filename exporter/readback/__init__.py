"""Reading an export back: opening it safely, its records as a stream, verifying it, and
importing it into an empty database and media directory. Nothing here depends on the export run."""
