"""The four Regulars services; each is `python -m services.<name>`."""
