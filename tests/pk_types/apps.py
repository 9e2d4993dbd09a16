"""The test-only app of models keyed by every primary-key type."""

from django.apps import AppConfig


class PkTypesConfig(AppConfig):
    """Models whose records the engine must build exactly as Django's serializer does."""

    name = "tests.pk_types"
    label = "pk_types"
    verbose_name = "Primary-key types"
