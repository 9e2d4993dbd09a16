"""The paperless-ngx release this schema twin reproduces."""

from typing import Final

__version__: Final[tuple[int, int, int]] = (3, 0, 5)
# The dotted form paperless writes into an export's metadata.
__full_version_str__: Final[str] = ".".join(str(part) for part in __version__)
