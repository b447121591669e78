"""Membership (入会): applications, approval, suspension, tokens."""
