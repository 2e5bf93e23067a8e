"""Fixtures shared by the black-box tests."""

from tests.e2e.test_run import runner

__all__ = ["runner"]
