"""The package version: the one place it is written (hatch reads it for the build, the release
workflow checks the tag against it, ``python -m scripts.changelog release`` sets it)."""

__version__ = "0.1.0"
