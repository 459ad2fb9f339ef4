"""Prompts: Mandarin texts as data (``texts.json``), the catalog of files, the builder.

Every prompt is a file named after its key (``greeting.wav``, ``digits/7.wav``) in one folder
that Asterisk and the gateway see at the same path. ``hotline prompts build`` makes placeholders
from the texts with espeak-ng; a deployment replaces any of them with recorded human audio.
"""

from ivr.prompts.catalog import BEEP, PROMPT_TEXTS, Prompts, default_prompts_dir

__all__ = ["BEEP", "PROMPT_TEXTS", "Prompts", "default_prompts_dir"]
