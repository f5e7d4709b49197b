"""Expected trouble: each error's message names the problem and the fix."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix (a file, a setting, a password); shown without a traceback."""
