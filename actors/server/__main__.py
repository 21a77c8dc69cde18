"""``python -m actors.server``: run the state server (see ``actors.server.serve``)."""

from actors.server.serve import main

raise SystemExit(main())
