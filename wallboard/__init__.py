"""wallboard: a real-time supervisor wallboard for contact centres."""

__version__ = "0.1.0"
