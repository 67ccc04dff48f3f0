"""Entry point of the packaged app: the same as the `facefolio` console script."""
import multiprocessing
import sys

from facefolio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless unless a library spawns processes
    sys.exit(main())
