"""loginlens core: intake, timeline, analysis and presentation."""

__version__ = "0.1.0"
