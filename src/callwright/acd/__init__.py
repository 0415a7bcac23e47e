"""Automatic call distribution types shared by the store and the reports (no dependencies)."""
