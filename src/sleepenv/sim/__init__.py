"""Synthetic nights with ground truth, and a simulated bedroom for the demo."""
