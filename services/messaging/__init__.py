"""messaging: what we say to whom, when, on which channel, and did it work."""
