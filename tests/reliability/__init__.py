"""Reliability: crashes, restarts, retries, hostile input and handler bugs lose nothing."""
