"""QIRCE / Q-FAM: inference placement and query routing under latency objectives."""
