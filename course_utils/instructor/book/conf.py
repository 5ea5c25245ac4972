"""Sphinx configuration of the course book (``make book``), rendered by MyST-NB with the book theme.

The build script (``course_utils/instructor/book/__init__.py``) copies this file into a staging
folder with the lectures, and fills in nothing here: everything the site needs is local. Notebooks
are never executed; their committed outputs are shown. MathJax is served from the site itself.
"""

project = "Recurrent neural networks for NLP"
author = "The course staff"
copyright = "the course staff; code MIT"  # Sphinx's name

extensions = ["myst_nb", "sphinx.ext.mathjax"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
master_doc = "index"

# Notebooks: show the committed outputs, never run anything.
nb_execution_mode = "off"
nb_ipywidgets_js = {}          # widgets are replaced by their saved state (no widget JavaScript, no CDN)
nb_merge_streams = True
nb_output_stderr = "remove"    # warnings a lecture printed while it ran are not teaching material
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# A lecture jumping from ## to #### is a style matter, not a broken page.
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# Formulas: MathJax 3 from the site's own _static/mathjax (copied in by the build from the
# django-static-mathjax package): TeX input with all extensions, SVG output (no web fonts).
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course-book.css"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "navigation_with_keys": False,
}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
html_permalinks_icon = "#"
