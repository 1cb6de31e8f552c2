"""loginlens' signature library: YAML data (causes, rules, vendor profiles), not code."""
