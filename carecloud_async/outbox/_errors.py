"""What the outbox raises: every error is a :class:`~carecloud_async.CareCloudError`.

OutboxError
├── OutboxStoreError   the store cannot be opened, read or written (names the file / database)
├── BillIdConflict     a bill_id already in the outbox with a different purchase
├── NotCancellable     a cancel for a bill the outbox has not sent
├── RecordNotFound     no record with that bill_id
└── NotInManual        retry / discard of a record that is not waiting for manual transfer
"""

from __future__ import annotations

from .._errors import CareCloudError


class OutboxError(CareCloudError):
    """Base class of the outbox's errors."""


class OutboxStoreError(OutboxError):
    """The outbox store could not be opened, read or written. ``location`` names the SQLite file or
    the PostgreSQL database (without its password). A purchase whose ``submit`` raised this was NOT
    stored: keep it and submit it again once the store works."""

    def __init__(self, message: str, *, location: str):
        super().__init__(message)
        self.location = location


class BillIdConflict(OutboxError):
    """``bill_id`` is already in the outbox with a different purchase. Bill ids are the natural key of
    send-purchase: each bill needs its own."""

    def __init__(self, bill_id: str):
        super().__init__(
            f"bill_id {bill_id!r} is already in the outbox with a different purchase; "
            "every bill needs its own unique bill_id"
        )
        self.bill_id = bill_id


class NotCancellable(OutboxError):
    """A cancel was asked for a bill the outbox has not sent (unknown, still pending, in manual or
    discarded). ``state`` is the record's state, None when the outbox does not know the bill."""

    def __init__(self, bill_id: str, state: str | None, advice: str):
        known = "the outbox does not know it" if state is None else f"it is {state} in the outbox"
        super().__init__(f"cannot cancel bill {bill_id!r}: {known}; {advice}")
        self.bill_id = bill_id
        self.state = state


class RecordNotFound(OutboxError):
    """No outbox record has this ``bill_id``."""

    def __init__(self, bill_id: str):
        super().__init__(f"no purchase with bill_id {bill_id!r} in the outbox")
        self.bill_id = bill_id


class NotInManual(OutboxError):
    """Retry now and discard apply to records waiting for manual transfer only."""

    def __init__(self, bill_id: str, state: str, action: str):
        super().__init__(f"cannot {action} bill {bill_id!r}: it is {state}, not manual")
        self.bill_id = bill_id
        self.state = state
