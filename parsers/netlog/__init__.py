"""Chrome NetLog files → events."""
