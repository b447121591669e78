"""HTTP blueprints, one per area of the public contract (../API.md)."""
