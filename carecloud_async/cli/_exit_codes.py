"""Exit codes of ``carecloud`` and the one-message form of every error (no traceback).

=====  ==========================================================================================
code   meaning
=====  ==========================================================================================
0      success
1      another failure (a 2xx answer that does not fit the model, a token store that fails, an
       outbox database missing or unreadable, a retry / discard of a purchase not in manual, ...)
2      bad input: unknown operation or parameter, a value of the wrong type, a malformed body,
       a wrong option (also typer's own usage errors)
3      configuration missing or invalid (``CARECLOUD_*`` variables and options)
4      authentication refused: wrong credentials, 401 after a new login, 403 forbidden
5      404 not found; ``carecloud outbox``: no purchase with that bill_id in the outbox
6      the server refused the request: 400 (with its invalid params), 405 and other 4xx
7      the server is busy or failed: 429 after retries, 5xx
8      the server could not be reached: connection error or timeout, after retries
130    interrupted (Ctrl-C); an export leaves a valid file and can be resumed
=====  ==========================================================================================

    >>> from carecloud_async import NotFound
    >>> exit_code_for(NotFound(status_code=404, message="Not Found"))
    5
"""

from __future__ import annotations

import sys

from .._errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    CareCloudError,
    ConfigurationError,
    Forbidden,
    NetworkError,
    NotFound,
    RateLimited,
    RequestValidationError,
    ServerError,
    Unauthorized,
)

OK = 0
FAILURE = 1
BAD_INPUT = 2
CONFIGURATION = 3
AUTHENTICATION = 4
NOT_FOUND = 5
REFUSED = 6
SERVER = 7
NETWORK = 8
INTERRUPTED = 130

#: First match wins: subclasses before their bases.
_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (ConfigurationError, CONFIGURATION),
    (RequestValidationError, BAD_INPUT),
    (AuthenticationError, AUTHENTICATION),
    (Unauthorized, AUTHENTICATION),
    (Forbidden, AUTHENTICATION),
    (NotFound, NOT_FOUND),
    (RateLimited, SERVER),
    (ServerError, SERVER),
    (BadRequest, REFUSED),
    (APIError, REFUSED),
    (NetworkError, NETWORK),
    (KeyboardInterrupt, INTERRUPTED),
)


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error (see the table above); 1 for anything else."""
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    # The outbox's errors, without importing the outbox for every command: if one was raised, its
    # module is loaded.
    outbox_errors = sys.modules.get("carecloud_async.outbox._errors")
    if outbox_errors is not None and isinstance(error, outbox_errors.RecordNotFound):
        return NOT_FOUND
    return FAILURE


def error_message(error: BaseException) -> str:
    """One readable message: the error class and its text (status, error code, invalid params
    for an API error). Never a traceback; secrets are already kept out of the errors' text.

    >>> from carecloud_async import BadRequest, InvalidParam
    >>> error_message(BadRequest(status_code=400, message="Bad Request", error_code="invalid_params",
    ...                          invalid_params=(InvalidParam("email", "already_exists"),)))
    'BadRequest: 400 Bad Request [invalid_params]; invalid params: email: already_exists'
    """
    if isinstance(error, CareCloudError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, OSError):
        return f"{type(error).__name__}: {error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return f"{type(error).__name__}: {error}"
