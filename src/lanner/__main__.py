"""Allow ``python -m lanner`` as a synonym for the ``lanner`` console script."""

from lanner.cli.main import main

main()
