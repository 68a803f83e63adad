"""Understudy: faithful, stateful implementations of the fivesim, nebeus and backoffice APIs."""

__version__ = "0.1.0"
