"""The reference document archive: models shaped like the archives the exporter is built for,
its export plan, and a deterministic generator of synthetic archives."""
