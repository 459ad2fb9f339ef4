"""Benchmarks (not tests); results are recorded in bench/results/."""
