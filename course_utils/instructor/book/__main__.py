"""``python -m course_utils.instructor.book``: build the course book (see the package docstring)."""

import sys

from course_utils.instructor.book import main

sys.exit(main())
