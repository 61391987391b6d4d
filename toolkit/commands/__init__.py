"""One module per ``steward`` subcommand; see :mod:`toolkit.cli`."""
