"""Feedback's use cases over its ports (ports.py): reviews, cases, the case clock, the policy."""
