"""generate_archive."""
