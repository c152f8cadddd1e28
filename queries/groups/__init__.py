"""Groups of failures (a tenant and a signature): their counts, triage state, history and reads."""
