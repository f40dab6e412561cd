"""Where the book keeps its data, results records and artifacts.

Every location can be overridden with an environment variable, so that CI and readers
can point the chapters somewhere else without editing them.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, Iterator

from mnist_helpers.settings import quick_run

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
    which chapter writes it. A quick run (``BOOK_QUICK=1``) with no
    ``$BOOK_ARTIFACTS_DIR`` saves under ``artifacts/quick/``, so that its briefly
    trained models never replace those of a full run that a later chapter loads.

    Example:
        >>> artifacts_dir()  # doctest: +SKIP
        PosixPath('/home/reader/mnist-book/artifacts')
    """
    default = book_root() / "artifacts"
    return _from_env_or(ARTIFACTS_DIR_ENV, default / "quick" if quick_run() else default)


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


def regular_file_problem(path: Path) -> str | None:
    """Say what is at ``path`` when it is neither a regular file nor absent, else None.

    A regular file, or a symbolic link to one, gives None, and so does nothing at all:
    callers tell a missing file apart with ``path.exists()``. Anything else gives a
    phrase for an error message: a directory, a broken symbolic link, a link loop, a
    FIFO or device, or a path that cannot be examined.

    Example:
        >>> regular_file_problem(Path(tempfile.mkdtemp()))
        'is a directory'
        >>> regular_file_problem(Path("/no/such/file")) is None
        True
    """
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return _stat_failure(path, error)
    link = f" (through the symbolic link {path} -> {os.readlink(path)})" if path.is_symlink() else ""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory" + link
    return "is not a regular file (a FIFO, socket or device)" + link


def open_for_reading(path: Path, what: str) -> BinaryIO:
    """Open the regular file ``path`` in binary mode, or say what is wrong in a ``ValueError``.

    ``what`` names what the file should be ("an IDX file"). A missing file raises
    ``FileNotFoundError``; a directory, a link loop or an unreadable file a ``ValueError``.

    Example:
        >>> open_for_reading(Path(tempfile.mkdtemp()), "a CSV file")
        Traceback (most recent call last):
        ...
        ValueError: /... is a directory, not a CSV file: give the path of the file itself.
    """
    problem = regular_file_problem(path)
    if problem is not None:
        raise ValueError(f"{path} {problem}, not {what}: give the path of the file itself.")
    try:
        return open(path, "rb")  # The caller closes it.
    except PermissionError as error:
        raise ValueError(f"{path} cannot be read ({error.strerror}): make it readable, or use a copy.") from error


def _stat_failure(path: Path, error: OSError) -> str | None:
    if error.errno == errno.ELOOP:
        return "is a symbolic link loop (links that lead back to each other, never to a file)"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        return None
    return f"cannot be examined ({error.strerror})"
