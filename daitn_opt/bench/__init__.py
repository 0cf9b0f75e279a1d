"""Benchmark sweeps, the results store, and reports."""
