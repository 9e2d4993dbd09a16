"""The reference site's settings with the test-only apps installed.

The reference site exports the same in normal use; only the test run has these models.
"""

from archive.settings import *  # noqa: F403
from archive.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.pk_types"]
