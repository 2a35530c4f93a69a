"""pagewire: asynchronous document extraction with signed webhooks."""

__version__ = "0.1.0"
