"""Where the book keeps its data, results records and artifacts.

Every location can be overridden with an environment variable, so that CI and readers
can point the chapters somewhere else without editing them.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

DATA_DIR_ENV = "MNIST_DATA_DIR"
RESULTS_DIR_ENV = "BOOK_RESULTS_DIR"
ARTIFACTS_DIR_ENV = "BOOK_ARTIFACTS_DIR"

# A directory is the book's root when it holds both of these.
_ROOT_MARKERS = ("_toc.yml", "mnist_helpers")


def _is_book_root(directory: Path) -> bool:
    return all((directory / marker).exists() for marker in _ROOT_MARKERS)


def book_root(start: Path | None = None) -> Path:
    """Return the root of the book's checkout, or the working directory outside one.

    The search walks up from ``start`` (the working directory by default), so a chapter
    run from ``chapters/`` finds the repository; then it tries the package's own
    location (an editable install). On Colab, where the package is installed from the
    repository URL and no checkout exists, the working directory is the root.

    Example:
        >>> book_root().is_dir()
        True
    """
    start = Path.cwd() if start is None else Path(start)
    for directory in (start.resolve(), *start.resolve().parents):
        if _is_book_root(directory):
            return directory
    package_parent = Path(__file__).resolve().parent.parent
    if _is_book_root(package_parent):
        return package_parent
    return start.resolve()


def _from_env_or(variable: str, default: Path) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else default


def data_dir() -> Path:
    """Return the MNIST directory: ``$MNIST_DATA_DIR``, else the book's ``data/``.

    Example:
        >>> data_dir().is_absolute() or "MNIST_DATA_DIR" in os.environ
        True
    """
    return _from_env_or(DATA_DIR_ENV, book_root() / "data")


def results_dir() -> Path:
    """Return the committed results records: ``$BOOK_RESULTS_DIR``, else ``results/``.

    The README and the results chapter read the records from here.

    Example:
        >>> results_dir()  # doctest: +SKIP
        PosixPath('/home/reader/mnist-book/results')
    """
    return _from_env_or(RESULTS_DIR_ENV, book_root() / "results")


def records_output_dir() -> Path:
    """Return where a chapter writes its results records.

    ``$BOOK_RESULTS_DIR`` when set (CI points it at ``_build/``); else the committed
    ``results/`` in the book's reference run (``make execute``); else
    ``artifacts/results/``, so that a reader's own run never rewrites the book's records.

    Example:
        >>> records_output_dir()  # doctest: +SKIP
        PosixPath('/home/reader/mnist-book/artifacts/results')
    """
    from mnist_helpers.settings import reference_run

    if os.environ.get(RESULTS_DIR_ENV, "").strip():
        return results_dir()
    return results_dir() if reference_run() else artifacts_dir() / "results"


def artifacts_dir() -> Path:
    """Return where trained models are saved: ``$BOOK_ARTIFACTS_DIR``, else ``artifacts/``.

    Artifacts are never committed; a chapter that needs another chapter's model says
    which chapter writes it.

    Example:
        >>> artifacts_dir()  # doctest: +SKIP
        PosixPath('/home/reader/mnist-book/artifacts')
    """
    return _from_env_or(ARTIFACTS_DIR_ENV, book_root() / "artifacts")


@contextmanager
def atomic_output(target: Path, *, binary: bool = False, suffix: str = ".tmp") -> Iterator[IO]:
    """Write ``target`` through a temporary file that replaces it only on success.

    The temporary file lives in the target's directory; when the ``with`` block completes
    it gets the usual permissions (``mkstemp`` makes files readable by their owner only)
    and is renamed onto ``target``, atomically on the same file system. When the block
    raises, the temporary file is removed and ``target`` is left as it was.

    Example:
        >>> with atomic_output(Path("/tmp/numbers.txt")) as stream:
        ...     _ = stream.write("3 1 4")
        >>> Path("/tmp/numbers.txt").read_text()
        '3 1 4'
    """
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb" if binary else "w") as stream:
            yield stream
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
