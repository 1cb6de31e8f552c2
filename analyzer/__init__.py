"""loginlens core: intake, timeline, analysis and presentation."""

import parsers  # noqa: F401  (sets polars' allocator up before polars is imported)

__version__ = "0.1.0"
