"""Run the Regulars platform as local processes: used by `make run` and by the tests."""
