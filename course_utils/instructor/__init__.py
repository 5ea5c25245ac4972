"""Instructor-only code: release, autograding, the grading sandbox and the integrity review.

Nothing a student runs imports this package. The student edition of the course and
the student wheel of ``course_utils`` leave it out; the checks that assignment
notebooks call live in :mod:`course_utils.checks`, on the student side.
"""
