"""Tests against a real Home Assistant Core (see README.md here)."""
