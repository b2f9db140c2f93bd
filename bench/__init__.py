"""Benchmarks: scripts that print figures measured in one run (see README.md).

Each runs as a module from the repository's root, ``python -m bench.<name>``
(``bench.harness`` holds what they share). As a package, ``bench.registry``
cannot shadow the project's ``registry`` package, as a script on ``sys.path``
would.
"""
