"""Exceptions raised by daitn-opt.

Every error caused by the user's input is an :class:`InputError` whose message names the offending
field and value, so that the command line can print it as one line and exit with code 2.
"""

from __future__ import annotations

from typing import Any


class DaitnError(Exception):
    """Base class of every error daitn-opt raises on purpose."""


class InputError(DaitnError, ValueError):
    """Invalid input: a file, a field or an argument that cannot be used.

    Parameters
    ----------
    field
        Where the bad value sits, e.g. ``"nodes[3].trust"`` or ``"--solver"``.
    value
        The offending value (shown with ``repr``, shortened if long).
    reason
        What is wrong with it, in words a user understands.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field} = {shown}: {reason}")


class UnsupportedError(DaitnError):
    """A solver was asked to solve a variant it does not support.

    The message starts with the solver's name, e.g.
    ``"routing: time windows with k>1 not supported"``.
    """
