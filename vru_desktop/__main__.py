import sys

from vru_desktop.cli import main

sys.exit(main())
