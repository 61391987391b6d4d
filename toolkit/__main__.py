"""``python -m toolkit`` is the ``steward`` command."""

from toolkit.cli import main

raise SystemExit(main())
