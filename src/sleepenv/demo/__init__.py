"""The hardware-free demo: a simulated night and bedroom through the real service."""
