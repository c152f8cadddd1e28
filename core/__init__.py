"""Core: settings, engine, schema, security, metrics and the failcat command line."""
