"""Errors of the viewer package."""

from __future__ import annotations


class ViewerError(Exception):
    """Base of the viewer's errors."""


class ConversionError(ViewerError, ValueError):
    """A message cannot be shown as its Foxglove schema. ``reason`` is the short token the node
    counts dropped messages by (``encoding``, ``zero_size``, ``fields``, ``data``, ...)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
