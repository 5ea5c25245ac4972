"""nbgrader's submit, with the submission private to its student and the graders.

nbgrader's default exchange copies a submission to
``<exchange>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>/``
and makes that folder world-writable (0777) and its files world-readable
(0644), so that any instructor can remove it later; only the random name
hides it (nbgrader #978, #1225). On a shared server that lets a student who
learns the name read, replace or add files to another's submission.

:class:`PrivateSubmit` submits the same files, then leaves the folder
``0750`` and its files ``0640``: the student (owner) and the group can read
them, nobody else can. On the course's hub each student has a group of their
own whose only other members are the graders, and the inbound folder is setgid
to the graders' group, so nbgrader's collect, run by a grader, reads every
file; another student is neither owner nor member. The inbound is also sticky,
so no student can rename or delete another's folder.

Students' servers use it through their nbgrader configuration::

    c.ExchangeFactory.submit = "course_utils.exchange.PrivateSubmit"
"""

from __future__ import annotations

import os
import stat

from nbgrader.exchange.default.submit import ExchangeSubmit

__all__ = ["PrivateSubmit", "DIR_MODE", "FILE_MODE"]

DIR_MODE = 0o750
FILE_MODE = 0o640


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` whose inbound copy only its owner and the graders' group can read."""

    def copy_files(self) -> None:
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        for dirpath, _dirnames, filenames in os.walk(dest):
            for name in filenames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, FILE_MODE)
            # keep the setgid bit the folder inherited from the inbound
            os.chmod(dirpath, DIR_MODE | (os.stat(dirpath).st_mode & stat.S_ISGID))
        self.log.info("Submission %s is readable by you and the graders only", os.path.basename(dest))
