"""A test-only app: one model per primary-key type Django offers, linked to each other.

Installed by ``tests.settings`` only, so that the reference site exports what it always did.
"""
