"""Tracking (トラッキング): match audio against the registered fingerprints."""
