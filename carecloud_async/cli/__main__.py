"""``python -m carecloud_async.cli``: the same as the ``carecloud`` console script."""

from carecloud_async.cli._app import main

main()
