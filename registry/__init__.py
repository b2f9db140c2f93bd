"""Signed trust registry: statements, transparency log, checkpoints, store, queries."""
