"""Labels (ラベル): the fairness rule, signing and verification, and what people see."""
