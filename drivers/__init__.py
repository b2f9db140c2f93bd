"""Built-in DID method drivers (did:key, did:jwk, did:web)."""
