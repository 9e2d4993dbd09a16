"""document_exporter, verify_export and document_importer."""
