"""compliance: sanctions and export-control screening against the official lists."""

__version__ = "0.1.0"
