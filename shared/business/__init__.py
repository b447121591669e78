"""Business and voice-AI registration (事業登録) and contract attestations (契約)."""
