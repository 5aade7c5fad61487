"""Helpers of the data loader (collation, worker processes)."""
