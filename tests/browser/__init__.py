"""Browser tests: a package, so their package-scoped fixtures (the synced store, the app
server and its worker, chromium) end with the package instead of living for the session."""
