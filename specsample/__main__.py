"""``python -m specsample``: the same command line as the ``specsample`` script."""

from specsample.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
