"""Text channels: one adapter per channel (verify, parse → Intake, reply) plus thin routes."""
