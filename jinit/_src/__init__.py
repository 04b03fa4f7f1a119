"""jinit internals: import from the public modules instead."""
