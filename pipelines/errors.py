"""The one error path of the command line.

Every problem the user has to fix (bad input, config, model or output, a held
lock, damaged state, a full disk) is raised as a :class:`UserError`. The CLI
catches it in one place and prints one line naming the file and what to do,
exit code 2, no traceback; ``--debug`` shows the traceback as well. Modules
under ``cleaners/`` know nothing of this class: their own errors are turned
into a ``UserError`` where ``pipelines/`` calls them.
"""

from __future__ import annotations

import errno
import logging
import re


class UserError(Exception):
    """A problem the user must fix; ``str(exc)`` is the whole message."""

    exit_code = 2


class _ReportedOnce(logging.Filter):
    """Prefect logs a failed task or flow with its traceback and a closing
    'Finished in state Failed(...)' line. For a :class:`UserError` (and a
    disk error, which the flow turns into one) that is the same failure the
    CLI then reports in its one line: those records are dropped; any other
    failure keeps its traceback."""

    _FAILED = re.compile(r"encountered an exception:? (\w+): (?:\[Errno (\d+)\])?")

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            return not is_reported(exc)
        m = self._FAILED.search(record.getMessage())
        if m is None:
            return True
        return not (m.group(1) in _user_error_names() or (m.group(2) and int(m.group(2)) in DISK_ERRNOS))


DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def is_disk_error(exc: BaseException) -> bool:
    """A write refused by the disk or the file system: full, over quota,
    read-only, not permitted."""
    return isinstance(exc, OSError) and not isinstance(exc, UserError) and exc.errno in DISK_ERRNOS


def is_reported(exc: BaseException) -> bool:
    """Does ``exc`` end as a one-line UserError (itself, or a disk error)?"""
    return isinstance(exc, UserError) or is_disk_error(exc)


def _user_error_names() -> set[str]:
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


_FILTER = _ReportedOnce()


def add_prefect_filter(flt: logging.Filter, *names: str) -> None:
    """Put ``flt`` on the root logger, Prefect's loggers (those that exist
    now: call again once Prefect is imported) and ``names``, and on each of
    their handlers, once."""
    for name in {"", "prefect", *names, *(n for n in logging.root.manager.loggerDict if n.startswith("prefect"))}:
        logger = logging.getLogger(name)
        if flt not in logger.filters:
            logger.addFilter(flt)
        for handler in logger.handlers:
            if flt not in handler.filters:
                handler.addFilter(flt)


def report_once() -> None:
    """Install the filter on Prefect's loggers (once Prefect is imported)."""
    add_prefect_filter(_FILTER)
