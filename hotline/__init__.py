"""Composition room: settings, the FastAPI app factory, the CLI and the all-in-one supervisor."""
