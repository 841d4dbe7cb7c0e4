"""The HTTP gateway: the only door for store apps, mini-programs and internal tools."""
