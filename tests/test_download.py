"""Downloading: checksum verification, atomic writes, and the offline error.

The mirrors here are local (``file://`` URLs, and a closed port on the loopback address),
so the real download code runs without a network.
"""

from __future__ import annotations

import hashlib
import io
import urllib.request
from pathlib import Path

import pytest

from conftest import needs_real_mnist, make_labels
from mnist_helpers.data import (
    MNIST_FILES,
    MnistFile,
    MnistNotFoundError,
    download_file,
    ensure_mnist_files,
    load_mnist,
    resolve_data_dir,
    write_idx,
)


def file_spec_for(path: Path) -> MnistFile:
    payload = path.read_bytes()
    return MnistFile(path.name, hashlib.sha256(payload).hexdigest(), len(payload), 2049)


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    directory = tmp_path / "mirror"
    directory.mkdir()
    return directory


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def test_download_verifies_and_places_the_file(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    target = tmp_path / "data"
    path = download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert path == target / spec.name
    assert path.read_bytes() == (mirror / spec.name).read_bytes()
    assert leftovers(target) == [spec.name], "no temporary file is left behind"
    assert path.stat().st_mode & 0o044 == 0o044, "the file is readable by others, like any download"


def test_checksum_mismatch_leaves_nothing_behind(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    write_idx(mirror / spec.name, make_labels(51))  # The mirror now serves other bytes.
    target = tmp_path / "data"
    with pytest.raises(ValueError, match=r"(?s)No mirror served an intact labels-idx1-ubyte\.gz.*SHA-256"):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_falls_back_to_the_next_mirror(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    broken = tmp_path / "broken-mirror"
    broken.mkdir()
    (broken / spec.name).write_bytes(b"truncated")
    path = download_file(spec, tmp_path / "data", mirrors=[broken.as_uri(), mirror.as_uri()], show_progress=False)
    assert path.read_bytes() == (mirror / spec.name).read_bytes()


class InterruptedResponse(io.BytesIO):
    """A response that delivers some bytes, then the connection drops."""

    def read(self, size: int = -1) -> bytes:
        if self.tell() > 0:
            raise ConnectionResetError("connection reset by peer")
        return super().read(10)


def test_interrupted_download_never_leaves_a_complete_looking_file(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: InterruptedResponse(b"x" * 100))
    target = tmp_path / "data"
    with pytest.raises(ConnectionError, match="no mirror could be reached"):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_keyboard_interrupt_during_download_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))

    class Interrupted(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Interrupted())
    target = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_only_missing_files_are_downloaded(mnist_dir: Path, mirror: Path) -> None:
    missing = MNIST_FILES["test_labels"]
    (mnist_dir / missing.name).rename(mirror / missing.name)
    files = dict(MNIST_FILES, test_labels=file_spec_for(mirror / missing.name))
    paths = ensure_mnist_files(mnist_dir, mirrors=[mirror.as_uri()], files=files)
    assert paths["test_labels"] == mnist_dir / missing.name
    assert paths["train_images"] == mnist_dir / MNIST_FILES["train_images"].name


def test_offline_without_data_raises_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    unreachable = ["http://127.0.0.1:9/mnist/", (tmp_path / "no-such-mirror").as_uri()]
    with pytest.raises(MnistNotFoundError) as raised:
        ensure_mnist_files(empty, mirrors=unreachable)
    message = str(raised.value)
    assert f"MNIST is not in {empty.resolve()}" in message
    assert all(f"{file.name}  (missing)" in message for file in MNIST_FILES.values())
    assert "no mirror could be reached" in message
    assert leftovers(empty) == [], "a failed download leaves no partial files"


def test_load_mnist_offline_error_names_the_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr("mnist_helpers.data.MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(MnistNotFoundError, match=f"MNIST is not in {tmp_path / 'empty'}"):
        load_mnist()


@needs_real_mnist
def test_checksums_match_the_byte_identical_files_of_the_offline_copy() -> None:
    # The offline copy's README says these three files are the canonical bytes; the
    # training images were re-compressed, so only their structure is checked on load.
    directory = resolve_data_dir()
    for key in ("train_labels", "test_images", "test_labels"):
        file = MNIST_FILES[key]
        payload = (directory / file.name).read_bytes()
        assert (len(payload), hashlib.sha256(payload).hexdigest()) == (file.size, file.sha256)
