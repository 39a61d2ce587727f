"""Benchmarks with their targets. Run with ``make bench``; never part of the test run."""
