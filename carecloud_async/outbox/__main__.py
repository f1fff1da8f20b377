"""``python -m carecloud_async.outbox``: see :mod:`carecloud_async.outbox._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
