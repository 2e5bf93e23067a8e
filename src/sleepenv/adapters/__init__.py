"""Adapters: translate between external systems and the core's types, nothing more."""
