"""`python -m sleepenv`."""

from sleepenv.cli import main

raise SystemExit(main())
