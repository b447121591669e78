"""Lambda entry points: HTTP blueprints and event handlers. No business rules here."""
