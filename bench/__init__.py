"""Benchmarks: scripts that print figures measured in one run (see README.md).

A package only so that type checkers name the scripts ``bench.<name>``:
``bench/registry.py`` would otherwise clash with the ``registry`` package.
"""
