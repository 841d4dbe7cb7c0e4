"""Benchmarks: figures for the platform's hot paths, with bare baselines measured in the same run."""
