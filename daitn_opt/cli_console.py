"""How the ``daitn-opt`` command line talks to the terminal.

The error rule every command keeps (one line on stderr; exit 2 for bad input, 1 for a failed run,
never a traceback) is enforced once, by the command group :class:`Group`; the consoles write to
whatever ``sys.stdout``/``sys.stderr`` are at the time (a test runner swaps them), and are never
cut to 80 columns when the output is not a terminal. :mod:`daitn_opt.cli_render` draws the tables.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer 0.2x from 0.21 on carries its own copy of click, and raises its exceptions
    from typer._click import exceptions as click_errors
except ImportError:  # older typer (pyproject allows >= 0.12) runs on click itself
    from click import exceptions as click_errors

from .errors import DaitnError, InputError, UnsupportedError

_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}
"""Errors of writing the output itself (stdout, stderr), as opposed to reading an input."""
_DETACHED: list[Any] = []


class Group(TyperGroup):
    """The command group: every error the user caused becomes one line on stderr.

    Usage errors (unknown option, a value outside its range or choices), :class:`InputError` and
    :class:`UnsupportedError` exit with code 2; other :class:`DaitnError` with 1. Handled here, in
    the group's ``main``, so that the console script and an in-process ``CliRunner`` behave alike.
    """

    def main(self, args: Any = None, *rest: Any, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, *rest, standalone_mode=False, **extra)
        except typer.Exit as exc:
            code = exc.exit_code
        except click_errors.NoArgsIsHelpError as exc:
            sys.stdout.write(exc.format_message() + "\n")
            code = 2
        except click_errors.ClickException as exc:
            fail(_usage_message(exc, argv), getattr(exc, "exit_code", 2))
        except typer.Abort:
            fail("aborted", 1)
        except (InputError, UnsupportedError) as exc:
            fail(str(exc), 2)
        except DaitnError as exc:
            fail(str(exc), 1)
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS:
                raise
            # The output went away (`| head`) or filled up (`> /dev/full`): say so once, on
            # stderr, and stop writing to stdout (the interpreter flushes it again at exit).
            _DETACHED.append(sys.stdout)  # kept alive: a test runner still reads its buffer
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            if exc.errno == errno.EPIPE:
                raise SystemExit(1) from None
            fail(f"output cannot be written: {exc.strerror}", 2)
        raise SystemExit(code if isinstance(code, int) else 0)


def _usage_message(exc: Exception, argv: list[str]) -> str:
    """One line for a usage error: ``--seed = '-1': reason`` when the option is known."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    param = getattr(exc, "param", None)
    opts = list(getattr(param, "opts", None) or [])
    if getattr(param, "param_type_name", None) == "argument" and getattr(exc, "message", None):
        # an argument is named as help shows it (FORMAT), not by its Python name (fmt)
        shown = str(getattr(param, "metavar", None) or getattr(param, "name", "") or "argument")
        reason = str(exc.message).removeprefix("Value error, ")
        return " ".join(f"{shown.split(':')[0].strip().upper()}: {reason}".split())
    if param is not None and opts and getattr(exc, "message", None):
        name = max(opts, key=len)
        reason = str(exc.message).removeprefix("Value error, ")
        value = _raw_value(argv, opts)
        if value is not None:
            message = f"{name} = {value!r}: {reason}"
        else:
            message = f"{name}: {reason}"
    return " ".join(message.split())


def _raw_value(argv: list[str], opts: list[str]) -> str | None:
    """The last value given on the command line for an option named by ``opts``, if any."""
    found = None
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                found = argv[i + 1]
            elif opt.startswith("--") and arg.startswith(opt + "="):
                found = arg[len(opt) + 1 :]
    return found


class _LazyConsole:
    """A rich Console made on first use, for the current stdout/stderr.

    When the stream is not a terminal (a pipe, a file, a test runner) and ``COLUMNS`` is not set,
    the width is unbounded: tables and lines are never cut at rich's default of 80 columns.
    """

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Any = None
        self._stream: Any = None

    def _get(self) -> Any:
        stream = sys.stderr if self._stderr else sys.stdout
        if self._console is None or stream is not self._stream:
            from rich.console import Console

            width = None
            isatty = getattr(stream, "isatty", None)
            if not (isatty and isatty()) and "COLUMNS" not in os.environ:
                width = 100_000
            self._console = Console(stderr=self._stderr, width=width)
            self._stream = stream
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


console = _LazyConsole()
err_console = _LazyConsole(stderr=True)


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    # One line whatever the terminal width (soft_wrap), and the message printed literally.
    flat = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {escape(flat)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def table(title: str | None = None) -> Any:
    from rich.table import Table

    return Table(title=title)


def plain(text: str) -> Any:
    """A table cell shown literally (ids may contain rich markup such as ``[b]``)."""
    from rich.text import Text

    return Text(str(text))
