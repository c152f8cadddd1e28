"""Benchmarks that print JSON lines of figures."""
