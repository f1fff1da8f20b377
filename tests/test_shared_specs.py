"""scripts/shared_specs.py: on a machine without the shared spec folder (a GitHub-hosted runner),
the specs the tests compare are downloaded at their commits and kept only with the recorded
sha256. Served here by a local HTTP server laid out like the upstream raw URLs."""

from __future__ import annotations

import doctest
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from thread_server import FolderHandler, serving

from scripts import shared_specs, spec_source


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "upstream"
    with serving(FolderHandler.of(root)) as origin:
        yield origin, root


def publish(root: Path, commit: str, content: bytes) -> shared_specs.SharedSpec:
    path = root / commit / "_build" / "openapi.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    return shared_specs.SharedSpec(f"openapi-{commit}.yaml", commit, hashlib.sha256(content).hexdigest())


def test_docstring_examples() -> None:
    assert doctest.testmod(shared_specs).failed == 0


def test_the_specs_are_the_ones_the_tests_read() -> None:
    pinned, older = shared_specs.specs()
    source = spec_source.SpecSource.load()
    assert (pinned.name, pinned.commit, pinned.sha256) == ("openapi.yaml", source.commit, source.sha256)
    assert older.name == "openapi-2026-03-21.yaml"
    update_tests = (Path(__file__).parent / "test_update_spec.py").read_text(encoding="utf-8")
    assert f'OLDER_SHA256 = "{older.sha256}"' in update_tests
    assert f'OLDER_COMMIT = "{older.commit}"' in update_tests


def test_missing_specs_are_downloaded_and_verified(upstream: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = upstream
    first = publish(root, "aaa111", b"openapi: 3.0.2\ninfo: {title: one}\n")
    second = publish(root, "bbb222", b"openapi: 3.0.2\ninfo: {title: two}\n")
    dest = tmp_path / "shared" / "api-spec"
    lines = shared_specs.fetch(dest, (first, second), base_url)
    assert (dest / first.name).read_bytes() == b"openapi: 3.0.2\ninfo: {title: one}\n"
    assert spec_source.sha256_of(dest / second.name) == second.sha256
    assert all("downloaded" in line for line in lines)
    # a second run keeps what is there (verified)
    assert all("present, sha256 verified" in line for line in shared_specs.fetch(dest, (first, second), base_url))


def test_a_wrong_download_is_not_kept(upstream: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = upstream
    spec = publish(root, "ccc333", b"tampered")
    wrong = shared_specs.SharedSpec(spec.name, spec.commit, "0" * 64)
    dest = tmp_path / "dest"
    with pytest.raises(spec_source.SpecError, match="has sha256"):
        shared_specs.fetch(dest, (wrong,), base_url)
    assert list(dest.iterdir()) == []
    with pytest.raises(spec_source.SpecError, match=r"download of .* failed"):
        shared_specs.fetch(dest, (shared_specs.SharedSpec("x.yaml", "nope", "0" * 64),), base_url)
    assert list(dest.iterdir()) == []


def test_a_present_file_with_the_wrong_sha256_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("not the pinned spec", encoding="utf-8")
    with pytest.raises(spec_source.SpecError, match="has sha256"):
        shared_specs.fetch(tmp_path, (shared_specs.SharedSpec("openapi.yaml", "c", "0" * 64),), "http://127.0.0.1:9")
