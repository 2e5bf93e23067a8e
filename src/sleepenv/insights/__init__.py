"""Insights across nights: which of the user's own habits go with which nights."""
