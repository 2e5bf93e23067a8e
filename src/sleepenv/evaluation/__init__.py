"""Scoring the classifier against synthetic ground truth (`sleepenv evaluate`)."""
