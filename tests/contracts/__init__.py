"""Contract tests: what the connectors send, checked against the vendors' own SDKs and docs."""
