"""Load benchmarks for Understudy: real server process, load generator, Starlette ceiling.

Run from the repository root: ``python -m bench <scenario>``. See bench/README.md.
Not part of the test run; nothing here asserts on timings.
"""
