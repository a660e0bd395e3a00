"""``python -m gridgeo.cli``."""

from gridgeo.cli import main

main()
