"""Labels (ラベル): the fairness rule, signing and verification, and what people see."""

from typing import Literal

LabelStatus = Literal["pending_review", "valid", "suspended", "revoked", "expired"]
