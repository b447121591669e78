"""The AILAS domain: models, rules, storage and audio, importable without Chalice."""

from importlib.metadata import version

# pyproject.toml is the one version source: installed editable locally, and written as
# dist-info into the Lambda package by infra/build.py.
__version__ = version("ailas-registry")
