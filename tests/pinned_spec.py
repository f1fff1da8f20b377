"""The pinned spec, normalised as the generator reads it: the document the generated package, its
constraint table and the fake's contract were made from. Read once per test session and shared
(the ``spec`` fixture of ``conftest.py``, or :func:`normalised` where a fixture cannot reach, as in
``parametrize`` lists); tests only read it."""

from __future__ import annotations

import functools

from scripts import normalise, spec_source


@functools.cache
def normalised() -> normalise.Spec:
    return normalise.normalise(normalise.load(spec_source.obtain()))
