"""spin-py: run Spin's Python apps natively, with hot reload and a shared model pool."""

__version__ = "0.1.0"
