"""Credential verification: Data Integrity, VC-JOSE/JWT, status lists, trust."""
