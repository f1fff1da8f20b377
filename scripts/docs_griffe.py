"""A griffe extension for the docs build: the project's docstrings use Sphinx roles
(``:class:`CareCloud```, ``:meth:`~CareCloud.call```), which Markdown would show as they are.
Each becomes inline code with the name as a reader would write it; the docstring text in the
code is unchanged. Loaded by mkdocstrings (``mkdocs.yml``: ``extensions``).

    >>> plain_roles("Use :meth:`~carecloud_async.CareCloud.call` or :class:`.Paginator`.")
    'Use `call` or `Paginator`.'
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):`(?P<tilde>~)?\.?(?P<name>[^`]+)`")


def plain_roles(text: str) -> str:
    """Sphinx cross-reference roles as inline code (``~`` keeps only the last name)."""

    def code(match: re.Match[str]) -> str:
        name = match["name"]
        return f"`{name.rsplit('.', 1)[-1] if match['tilde'] else name}`"

    return _ROLE.sub(code, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring before mkdocstrings renders it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        # when the object is made, before anything reads (and caches) its parsed docstring
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
