"""Reading JSON files with errors a user can act on."""

from __future__ import annotations

import json
import math
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
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            "file", str(path), f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
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
