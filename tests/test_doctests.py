"""The examples in the docstrings of carecloud_async run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "carecloud_async._arguments",
    "carecloud_async._cache",
    "carecloud_async._call_options",
    "carecloud_async._config",
    "carecloud_async._constraint_checks",
    "carecloud_async._dedupe",
    "carecloud_async._enterprise_auth",
    "carecloud_async._environment",
    "carecloud_async._errors",
    "carecloud_async._event_loops",
    "carecloud_async._identity",
    "carecloud_async._logging",
    "carecloud_async._network",
    "carecloud_async._pagination",
    "carecloud_async._plain_inputs",
    "carecloud_async._ratelimit",
    "carecloud_async._raw_responses",
    "carecloud_async._redis",
    "carecloud_async.integrations",
    "scripts.normalise",
    "scripts.resources",
    "scripts.request_constraints",
    "carecloud_async._type_hints",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0
