"""``python -m painterly`` runs the command line."""

import sys

try:
    from painterly.cli import main
except KeyboardInterrupt:  # Ctrl-C in the first moments: one line, as later
    print("painterly: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
