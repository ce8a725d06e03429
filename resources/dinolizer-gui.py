"""The bundle's entry script (PyInstaller runs it as __main__, outside the package)."""

import sys

from dinolizer_gui.__main__ import main

sys.exit(main())
