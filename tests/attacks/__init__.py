"""Attack submissions for the grading-sandbox tests, and a throw-away nbgrader course to grade them in."""
