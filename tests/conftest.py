"""Fixtures shared by every test: one per real component, built once and reused."""
