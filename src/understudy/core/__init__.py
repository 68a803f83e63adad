"""Shared kernel: storage, clock, money, ledger, mail, timers and rate limits. Knows no service."""
