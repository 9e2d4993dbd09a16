"""The settings singleton paperless keeps in the database (facts §1.4, ``app_configs``)."""

from __future__ import annotations

from typing import Any

from django.db import models


class AbstractSingletonModel(models.Model):
    """A model with exactly one row: every save writes pk 1."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save this object as the single row (pk 1)."""
        self.pk = 1
        super().save(*args, **kwargs)


def _choices(*values: str) -> list[tuple[str, str]]:
    """Choices whose labels are their values, as most of paperless's settings use."""
    return [(value, value) for value in values]


def _char(max_length: int, **kwargs: Any) -> models.CharField:
    """An optional text setting (null and blank, as every one of these is)."""
    return models.CharField(null=True, blank=True, max_length=max_length, **kwargs)


OUTPUT_TYPES = _choices("pdf", "pdfa", "pdfa-1", "pdfa-2", "pdfa-3")
MODES = _choices("auto", "force", "redo", "off")
ARCHIVE_FILE_GENERATION = _choices("auto", "always", "never")
UNPAPER_CLEAN = _choices("clean", "clean-final", "none")
COLOR_STRATEGIES = _choices(
    "LeaveColorUnchanged", "RGB", "UseDeviceIndependentColor", "Gray", "CMYK",
)
EMBEDDING_BACKENDS = [
    ("openai-like", "OpenAI-compatible"), ("huggingface", "Huggingface"), ("ollama", "Ollama"),
]
LLM_BACKENDS = [("openai-like", "OpenAI-compatible"), ("ollama", "Ollama")]


class ApplicationConfiguration(AbstractSingletonModel):
    """OCR, barcode, branding and AI settings that override paperless's environment."""

    output_type = _char(8, choices=OUTPUT_TYPES)
    pages = models.PositiveSmallIntegerField(null=True)
    language = _char(32)
    mode = _char(16, choices=MODES)
    archive_file_generation = _char(8, choices=ARCHIVE_FILE_GENERATION)
    image_dpi = models.PositiveSmallIntegerField(null=True)
    unpaper_clean = _char(16, choices=UNPAPER_CLEAN)
    deskew = models.BooleanField(null=True)
    rotate_pages = models.BooleanField(null=True)
    rotate_pages_threshold = models.FloatField(null=True)
    max_image_pixels = models.FloatField(null=True)
    color_conversion_strategy = _char(32, choices=COLOR_STRATEGIES)
    user_args = models.JSONField(null=True)
    app_title = _char(48)
    app_logo = models.FileField(null=True, blank=True, upload_to="logo/")
    barcodes_enabled = models.BooleanField(null=True)
    barcode_enable_tiff_support = models.BooleanField(null=True)
    barcode_string = _char(32)
    barcode_retain_split_pages = models.BooleanField(null=True)
    barcode_enable_asn = models.BooleanField(null=True)
    barcode_asn_prefix = _char(32)
    barcode_upscale = models.FloatField(null=True)
    barcode_dpi = models.PositiveSmallIntegerField(null=True)
    barcode_max_pages = models.PositiveSmallIntegerField(null=True)
    barcode_enable_tag = models.BooleanField(null=True)
    barcode_tag_mapping = models.JSONField(null=True)
    barcode_tag_split = models.BooleanField(null=True)
    ai_enabled = models.BooleanField(null=True, default=False)
    llm_embedding_backend = _char(128, choices=EMBEDDING_BACKENDS)
    llm_embedding_model = _char(128)
    llm_embedding_endpoint = _char(256)
    llm_embedding_chunk_size = models.PositiveSmallIntegerField(null=True)
    llm_context_size = models.PositiveIntegerField(null=True)
    llm_backend = _char(128, choices=LLM_BACKENDS)
    llm_model = _char(128)
    llm_api_key = _char(1024)
    llm_endpoint = _char(256)
    llm_output_language = _char(32)
    llm_request_timeout = models.PositiveSmallIntegerField(null=True)

    class Meta:
        verbose_name = "paperless application settings"
        permissions = [
            ("view_global_statistics", "Can view global object counts"),
            ("view_system_monitoring", "Can view system status information"),
        ]

    def __str__(self) -> str:
        return "ApplicationConfiguration"
