#!/usr/bin/env python
"""Command-line entry point of the paperless-ngx schema twin (settings: ``paperless.settings``)."""

import os
import sys


def main() -> None:
    """Run a Django management command against the twin's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperless.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
