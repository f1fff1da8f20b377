"""The examples in the docstrings of carecloud_async run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["carecloud_async._config", "carecloud_async._errors", "carecloud_async._pagination"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0
