import sys

from diffhpe.cli import main

sys.exit(main())
