"""`python -m sleepenv`."""

from sleepenv.cli.main import main

raise SystemExit(main())
