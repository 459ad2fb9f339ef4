"""Private instances of real services for tests and benchmarks (never the machine's own)."""
