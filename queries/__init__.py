"""Reads and writes against the database and Prometheus; bound parameters only, no streamlit."""
