"""Provokers: each module has run(corpus) and records the real errors it caught."""
