"""A streaming exporter for Django document archives: flat memory, classic bytes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("streaming-document-exporter")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.1.0"
