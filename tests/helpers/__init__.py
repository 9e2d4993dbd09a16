"""Helpers shared by the test modules: archives, exports, processes and seeded stop points.

``stop_point``, ``import_stop_point`` and ``concurrent_writer`` are not imported by tests so much
as run: each is the main module of a child process (``python -m tests.helpers.<name>``).
"""
