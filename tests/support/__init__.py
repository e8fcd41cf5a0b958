"""Helpers shared by test folders: the real studio started as ``make up`` starts it."""
