"""Feedback's rules and the types they speak: reviews, complaint cases and their state machine,
SLAs in business hours, the tenant's policy, reviewer risk, compensation. No I/O."""
