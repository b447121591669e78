"""Performer intent registry (意思登録): versioned, public, machine-readable consent."""
