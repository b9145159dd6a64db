"""Run the command line in-process, as the CLI tests do."""

from __future__ import annotations

from specsample import cli


def run_main(argv, capsys):
    """Run ``cli.main(argv)``; return (status, stdout, stderr). SystemExit gives its code."""
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err
