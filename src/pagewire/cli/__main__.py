import sys

from pagewire.cli.main import main

sys.exit(main())
