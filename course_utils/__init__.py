"""Shared helpers for the RNN course notebooks.

Every notebook starts with::

    import course_utils
    device = course_utils.setup(seed=0)

Submodules, one purpose each: ``environment`` (device and seeds), ``gradcheck``
(numeric gradients), ``training`` (the training loop), ``plots``, ``data``
(names, sentence pairs, character corpus, vocabulary and batching),
``models``, ``widgets`` and ``grading``.
"""

from course_utils.environment import get_device, seed_everything, setup

__version__ = "1.0.0"
__all__ = ["__version__", "get_device", "seed_everything", "setup"]
