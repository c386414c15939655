"""Imports: parsers per format and the atomic replace of one (category, source)."""
