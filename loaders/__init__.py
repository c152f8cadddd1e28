"""Data in and out: catalog, matching, ingest, synthetic data, exports. No streamlit here."""
