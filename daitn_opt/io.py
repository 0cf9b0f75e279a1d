"""Reading and writing files with errors a user can act on.

Reading: a missing, unreadable, empty, malformed or absurdly nested file is an :class:`InputError`
naming the file. Writing: :func:`check_output_file` and :func:`check_output_dir` vet an output
path *before* any work is done (missing folder, a folder where a file belongs, a file where a
folder belongs, no permission, the same file as an input), and :func:`write_text` turns a write
that still fails (a full disk) into an :class:`InputError` too.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InputError


def read_text(path: str | Path) -> str:
    """Return the text of ``path``; an :class:`InputError` if missing, unreadable or empty."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file", str(path), "no such file") from None
    except IsADirectoryError:
        raise InputError("file", str(path), "is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("file", str(path), f"cannot be read ({exc.__class__.__name__})") from None
    if not text.strip():
        raise InputError("file", str(path), "is empty")
    return text


def read_json(path: str | Path) -> Any:
    """Parse the JSON document in ``path``; malformed JSON names the line and column."""
    return parse_json(read_text(path), path)


def parse_json(text: str, path: str | Path) -> Any:
    """Parse ``text``, read from ``path``; malformed JSON names the file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            "file", str(path), f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError(
            "file", str(path), "JSON nested too deeply to be a valid document"
        ) from None


def json_safe(value: Any) -> Any:
    """``value`` with inf and nan (not valid JSON) replaced by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_file(
    path: str | Path, option: str = "--output", inputs: Iterable[str | Path] = ()
) -> Path:
    """Vet ``path`` as a file to be written later; an :class:`InputError` naming ``option`` if not.

    The folder must exist and be writable, ``path`` must not be a folder, a file that exists must
    be writable, and it must not be one of ``inputs`` (writing the result over the instance it was
    computed from). Nothing is created.
    """
    path = Path(path)
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise InputError(
                option, str(path), f"is the input file {str(source)!r}; refusing to overwrite it"
            )
    if path.is_dir():
        raise InputError(option, str(path), "is a directory, not a file")
    _check_folder(path.parent, option, path, need_write=not path.exists())
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(option, str(path), "is not writable (permission denied)")
    return path


def check_output_dir(path: str | Path, option: str = "--out-dir") -> Path:
    """Vet ``path`` as a folder to be created (with its parents) and written into later."""
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise InputError(option, str(path), f"{str(probe)!r} is a broken link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(option, str(path), f"{str(probe)!r} is a file, not a directory")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(option, str(path), f"{str(probe)!r} is not writable (permission denied)")
    return path


def _check_folder(folder: Path, option: str, path: Path, need_write: bool) -> None:
    if not folder.exists():
        # The first missing ancestor, or a file standing where a folder belongs.
        probe = folder
        while not probe.parent.exists() and probe.parent != probe:
            probe = probe.parent
        if probe.parent.exists() and not probe.parent.is_dir():
            raise InputError(option, str(path), f"{str(probe.parent)!r} is a file, not a directory")
        raise InputError(option, str(path), f"folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(option, str(path), f"{str(folder)!r} is a file, not a directory")
    if need_write and not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(option, str(path), f"folder {str(folder)!r} is not writable")


def write_text(path: str | Path, text: str, option: str = "--output") -> Path:
    """Write ``text`` to ``path``; a failure (full disk, lost permission) is an :class:`InputError`."""
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise InputError(option, str(path), f"cannot be written: {reason}") from None
    return path


def make_dir(path: str | Path, option: str = "--out-dir") -> Path:
    """Create folder ``path`` (and parents); a failure is an :class:`InputError`."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise InputError(option, str(path), f"cannot be created: {reason}") from None
    return path


RESULT_SHAPE = {
    "problem": "str",
    "solver": "str",
    "status": "str",
    "?sense": "str",
    "?runtime": "number",
    "?solution": ("map", "any"),
    "?stats": ("map", "any"),
    "?trace": [["any"]],
    "?message": "str",
    "?seed": "int",
}
"""Shape of a result document (see :func:`daitn_opt.checking.shape_error`); nullable numbers and
names are checked separately."""
NULLABLE = {"objective": "number", "bound": "number", "gap": "number", "time_limit": "number"}


def validate_result_document(data: Any, source: str = "solution") -> None:
    """Raise an :class:`InputError` naming the field unless ``data`` is a result document.

    A result document is what ``solve --json`` writes (see :class:`daitn_opt.result.Result`): an
    object with ``problem``, ``solver`` and ``status`` and, when present, fields of the right JSON
    types (numbers finite and not booleans, ``trace`` a list of ``[time, incumbent, bound]``).
    An instance file given in its place is named as such.
    """
    from .checking import is_kind, shape_error

    if not isinstance(data, dict):
        raise InputError(source, type(data).__name__, "expected a JSON object (a result document)")
    if "snapshot" in data and "problem" not in data:
        raise InputError(source, "{snapshot: ...}", "is an instance file, not a result document")
    err = shape_error(data, RESULT_SHAPE, "solution")
    if err is not None:
        raise err
    kinds = {**NULLABLE, "instance": "str", "request": "str"}
    for key, kind in kinds.items():
        value = data.get(key)
        if value is not None and not is_kind(value, kind):
            raise InputError(f"solution.{key}", value, f"expected a {kind} or null")
    if data.get("sense", "max") not in ("min", "max"):
        raise InputError("solution.sense", data["sense"], "expected 'min' or 'max'")
    if not 0 <= data.get("seed", 0) < 2**31:
        raise InputError("solution.seed", data["seed"], "expected 0..2**31-1")
    for i, point in enumerate(data.get("trace", [])):
        if (
            len(point) != 3
            or not is_kind(point[0], "number")
            or not all(p is None or is_kind(p, "number") for p in point[1:])
        ):
            raise InputError(
                f"solution.trace[{i}]", "[...]", "expected [time, incumbent or null, bound or null]"
            )
