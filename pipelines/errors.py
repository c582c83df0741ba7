"""The one error path of the command line.

Every problem the user has to fix (bad input, config, model or output, a held
lock, damaged state, a full disk) is raised as a :class:`UserError`. The CLI
catches it in one place and prints one line naming the file and what to do,
exit code 2, no traceback; ``--debug`` shows the traceback as well. Modules
under ``cleaners/`` know nothing of this class: their own errors are turned
into a ``UserError`` where ``pipelines/`` calls them.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user must fix; ``str(exc)`` is the whole message."""

    exit_code = 2
