"""Real local servers for tests: a loopback DNS server and an HTTPS server."""
