"""nbgrader configuration: this repository is the course directory.

Layout (all paths relative to this file):

    solutions/<assignment>/<assignment>.ipynb   instructor versions (nbgrader's *source*)
    assignments/<assignment>/<assignment>.ipynb student versions (nbgrader's *release*, committed)
    grading/                                    git-ignored, everything a grading run produces:
        submitted/<student>/<assignment>/       submissions (put them here, or use zip_collect)
        autograded/  feedback/                  nbgrader's outputs
        gradebook.db                            the gradebook (sqlite)
        grades.csv, problems.csv                `make grade`: scores, and submissions to look at
        nbgrader.log                            the output of every nbgrader command `make grade` ran
        release_check/                          a fresh release `make grade` compares with assignments/
        exchange/                               nbgrader's exchange, so the formgrader works
        downloads/<assignment>/archive/         LMS downloads for `nbgrader zip_collect`

The commands behind ``make release`` / ``make grade`` are in
``course_utils/instructor/autograde.py`` and ``parallel.py`` (and the README).
Every autograding path (``make grade``, ``nbgrader autograde``, the formgrader's
button) runs the sandboxed kernel ``rnn-course-sandbox`` and the integrity
review, and refuses where bubblewrap cannot run, unless the instructor opts out
explicitly (``COURSE_GRADING_UNSAFE=1`` or ``COURSE_GRADING_KERNEL=<kernel>``;
see ``course_utils/instructor/safepath.py``).
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from course_utils.instructor.preprocessors import (
    GradingExecute,
    NeutralizeStderr,
    RedactHiddenTests,
    RemoveInstructorNotes,
)
from course_utils.instructor.safepath import IntegrityReview, RequireSandbox, default_grading_kernel
from course_utils.instructor.sanitize import SanitizeStudentContent

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
GRADING = "grading"

# The assignments, in teaching order, with the per-cell time limit (seconds)
# each one's autograding allows, and the time budget (seconds) of one whole
# submission: its grading run may use half, the integrity re-check the rest.
# 03 and 04 train small models inside a test cell; their limits leave room
# for a loaded grading machine.
ASSIGNMENTS = {
    "01_forward_and_loss": {"timeout": 30, "budget": 300},
    "02_bptt": {"timeout": 40, "budget": 400},
    "03_pytorch_rnn": {"timeout": 300, "budget": 2400},
    "04_seq2seq": {"timeout": 90, "budget": 1200},
}

# --- the course directory ----------------------------------------------------
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "rnn-nlp"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = f"{GRADING}/submitted"
c.CourseDirectory.autograded_directory = f"{GRADING}/autograded"
c.CourseDirectory.feedback_directory = f"{GRADING}/feedback"
c.CourseDirectory.solution_directory = f"{GRADING}/solution"
c.CourseDirectory.source_with_tests_directory = f"{GRADING}/source_with_tests"
# The gradebook: sqlite for one instructor; several graders at once set COURSE_DB_URL, the one
# place it comes from (`make postgres` prints it; see README "Running the course for a class").
SQLITE_GRADEBOOK = "sqlite:///" + os.path.join(COURSE_ROOT, GRADING, "gradebook.db")
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL") or SQLITE_GRADEBOOK
# Checkpoints, caches and notebook outputs that must never travel with a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# nbgrader's exchange (used by the formgrader's release/collect buttons) lives in
# a folder the course owns, created here on demand so the formgrader never
# reports a missing exchange.
# On a hub (make hub) the exchange is the system folder the hub set up, passed as COURSE_EXCHANGE.
c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or os.path.join(COURSE_ROOT, GRADING, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# `nbgrader zip_collect <assignment>` (see the README): put the files downloaded
# from the LMS in grading/downloads/<assignment>/archive/ (zip files are
# extracted). Each notebook must be named <student id>_<notebook>.ipynb, e.g.
# s1234567_01_forward_and_loss.ipynb; adapt the expression to your LMS's names.
c.ZipCollectApp.downloaded_directory = os.path.join(GRADING, "downloads")
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/_]+)_(?P<file_id>\d\d_[A-Za-z0-9_]+)\.ipynb$"
# Student ids must be plain names and one bad archive must not stop the others
# (course_utils/instructor/zip_collect.py).
from course_utils.instructor.zip_collect import PlainNameCollector, SafeExtractor  # noqa: E402 (beside its settings)

c.ZipCollectApp.collector_plugin = PlainNameCollector
c.ZipCollectApp.extractor_plugin = SafeExtractor
c.PlainNameCollector.named_regexp = c.FileNameCollectorPlugin.named_regexp

# --- generating the student version ------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True
c.GenerateAssignment.create_assignment = True
# Answer keys (cells tagged instructor-notes) stay in solutions/ only; nbgrader's own steps follow.
from nbgrader.converters.generate_assignment import (  # noqa: E402 (beside the settings it serves)
    GenerateAssignment as _GenerateAssignment,
)

c.GenerateAssignment.preprocessors = [
    RemoveInstructorNotes, *_GenerateAssignment.class_traits()["preprocessors"].default()]

# --- autograding ---------------------------------------------------------------
# Restore what a student deleted or edited: deleted grade cells come back,
# edited locked cells are restored by checksum (nbgrader does that always).
c.OverwriteCells.add_missing_cells = True
# Execute with per-assignment time limits, a memory limit, an output cap and
# survival of a kernel crash (see course_utils/instructor/preprocessors.py), then
# relabel stderr in test cells (a torch warning or a progress bar must not cost
# marks; errors still do).
# RequireSandbox and IntegrityReview (course_utils/instructor/safepath.py) make the formgrader's
# Autograde button and a plain `nbgrader autograde` as safe as `make grade`: see below.
c.Autograde.autograde_preprocessors = [
    RequireSandbox,
    GradingExecute,
    NeutralizeStderr,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SanitizeStudentContent,  # the formgrader renders the autograded notebook: no student script in it
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
    IntegrityReview,
]
# --- which kernel autograding runs: the sandbox, on every path ------------------
# The sandboxed kernel by default (installed on first use). Where bubblewrap cannot run,
# RequireSandbox refuses with the reason instead of running untrusted code unsandboxed.
# Opting out is explicit: COURSE_GRADING_UNSAFE=1, or COURSE_GRADING_KERNEL=<another kernel>
# (trusted code only). IntegrityReview flags tampering in the gradebook (the formgrader's flag).
c.Execute.kernel_name = default_grading_kernel()
c.IntegrityReview.course_root = COURSE_ROOT
c.Execute.timeout = max(a["timeout"] for a in ASSIGNMENTS.values())
c.GradingExecute.assignment_timeouts = {name: a["timeout"] for name, a in ASSIGNMENTS.items()}
c.GradingExecute.memory_limit_mb = 4096
c.GradingExecute.max_output_chars = 200_000
c.GradingExecute.max_rich_output_bytes = 2 * 1024 * 1024
c.GradingExecute.assignment_budgets = {name: a["budget"] for name, a in ASSIGNMENTS.items()}
c.GradingExecute.timing_file = os.path.join(COURSE_ROOT, GRADING, "timing.jsonl")
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# --- feedback ------------------------------------------------------------------
# Students see their scores, outputs and error messages, but not the text of
# the hidden tests (nbgrader shows it by default), not even where their own
# code printed it; nothing a student wrote runs as script in the page.
c.GenerateFeedback.preprocessors = [
    GetGrades, RedactHiddenTests, ClearHiddenTests, SanitizeStudentContent, CSSHTMLHeaderPreprocessor]
