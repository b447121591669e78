"""Bulk dataset audits: a business's training data, fingerprinted on its own machine, joined in SQL
with the registry's fingerprint export (DuckDB on the local stack, Athena in AWS), scored with the
matcher's time-coherence rule and judged by the one fairness rule."""
