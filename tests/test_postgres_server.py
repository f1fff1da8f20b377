"""Choosing the system's PostgreSQL where the pgserver wheel is absent (scripts/postgres_server.py);
the server itself is exercised by tests/test_outbox_processes.py on every Python."""

from __future__ import annotations

import doctest

import scripts.postgres_server
from scripts.postgres_server import newest_bin_dir


def test_the_newest_major_version_wins_compared_as_numbers() -> None:
    assert newest_bin_dir(["9.6", "10", "16", "15"]) == "16"
    assert newest_bin_dir(["9.6", "10"]) == "10"  # not "9.6", as a string comparison would say


def test_folders_that_are_no_version_are_ignored() -> None:
    assert newest_bin_dir(["main", "15", ".cache"]) == "15"
    assert newest_bin_dir(["main"]) is None


def test_docstring_examples() -> None:
    result = doctest.testmod(scripts.postgres_server)
    assert result.attempted > 0
    assert result.failed == 0
