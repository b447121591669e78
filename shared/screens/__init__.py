"""Voice-likeness screening: does this audio sound like a registered performer?

``voiceprints`` keeps each performer's speaker embedding (never audio); ``enrol`` computes a
registered voice's embedding in the ingest path; ``service`` runs a member's screen.
"""
