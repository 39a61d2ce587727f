"""Per-environment stack files (Pulumi.<stack>.yaml) and the typed settings they map to."""
