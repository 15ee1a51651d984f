"""``python -m gradual`` is the ``gradual`` command."""

from .cli import main

raise SystemExit(main())
