"""The registry's public formats: canonical JSON and the audit hash chain, the label token (JWS),
bounded JSON input, the use vocabulary, CAWG and C2PA assertions.

The `ailas` client ships this package as ``ailas.formats`` (a link, not a copy), so what a client
checks is the code the registry runs. Modules here import each other relatively and nothing else
from ``shared``.
"""
