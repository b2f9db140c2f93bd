"""Core of DID resolution: syntax, models, errors, key codecs, the Resolver service."""
