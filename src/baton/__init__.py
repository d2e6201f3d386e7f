"""Baton: orchestrate AI coding agents as durable, observable multi-agent workflows."""

__version__ = "0.1.0"

__all__ = ["__version__"]
