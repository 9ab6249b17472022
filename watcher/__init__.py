"""sanctions-watch: find watchlist entities in news feeds and mail digests of what was found."""

__version__ = "0.1.0"
