"""Three handlers that do the same work, for the cold-start row (see bench/__main__.py)."""
