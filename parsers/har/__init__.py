"""HAR files → events."""
