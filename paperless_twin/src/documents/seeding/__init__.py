"""Deterministic, adversarial seed data for the schema twin (``manage.py seed_twin``)."""
