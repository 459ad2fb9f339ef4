"""``python -m hotline ...``: the same as the ``hotline`` console script.

(``python -m hotline.cli`` would run the CLI module as ``__main__``, a second copy beside the
``hotline.cli`` that subcommands import, so its ``CliError`` would not be caught.)"""

import sys

from hotline.cli import main

sys.exit(main())
