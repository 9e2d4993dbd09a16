"""The management commands of the exporter and what they share (:mod:`.cli`)."""
