"""The reference archive's management command: generate_archive."""
