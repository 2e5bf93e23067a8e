"""sleepenv: a local sleep-environment service for the bedroom."""

__version__ = "0.1.0"
