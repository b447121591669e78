"""The AILAS domain: models, rules, storage and audio, importable without Chalice."""

__version__ = "0.1.0"
