"""One-time passwords: send a code to an e-mail address or phone, then verify what the user typed.

request_id = await send_otp(cc, external_application_id=app_id, channel="sms", recipient="420523828931")
if await verify_otp(cc, external_application_id=app_id, request_id=request_id, verification_code=typed):
    ...
"""

from __future__ import annotations

from typing import Literal

from carecloud_api.api.one_time_password import post_send_otp, post_verify_otp
from carecloud_api.models.post_send_otp_body import PostSendOtpBody
from carecloud_api.models.post_send_otp_body_communication_channel_id import PostSendOtpBodyCommunicationChannelId
from carecloud_api.models.post_send_otp_body_otp_type import PostSendOtpBodyOtpType
from carecloud_api.models.post_verify_otp_body import PostVerifyOtpBody

from .._client import CareCloud
from ._checks import answered, optional_text, require_choice, require_text

__all__ = ["OtpChannel", "OtpType", "send_otp", "verify_otp"]

#: Where the code goes: ``email`` (1), ``sms`` (2), ``push`` (4, Apple or Google), ``internal`` (5,
#: internal system notification).
OtpChannel = Literal["email", "sms", "push", "internal"]
#: ``alphanumeric`` (1, the API's default) or ``numeric`` (2).
OtpType = Literal["alphanumeric", "numeric"]

_CHANNELS: dict[str, int] = {"email": 1, "sms": 2, "push": 4, "internal": 5}
_TYPES: dict[str, int] = {"alphanumeric": 1, "numeric": 2}


async def send_otp(
    cc: CareCloud,
    *,
    external_application_id: str,
    channel: OtpChannel,
    recipient: str,
    otp_type: OtpType = "alphanumeric",
    message_template_id: str | None = None,
) -> str:
    """Send a one-time password to ``recipient`` (``POST /one-time-password/actions/send``);
    returns the ``request_id`` that :func:`verify_otp` needs.

    ``recipient`` is an e-mail address, a phone number with its international prefix, or another
    identifier, depending on ``channel``.

        request_id = await send_otp(cc, external_application_id=app_id, channel="email",
                                    recipient="jane@example.com", otp_type="numeric")
    """
    require_choice(channel, tuple(_CHANNELS), "channel")
    require_choice(otp_type, tuple(_TYPES), "otp_type")
    body = PostSendOtpBody(
        external_application_id=require_text(external_application_id, "external_application_id"),
        communication_channel_id=PostSendOtpBodyCommunicationChannelId(_CHANNELS[channel]),
        recipient=require_text(recipient, "recipient"),
        otp_type=PostSendOtpBodyOtpType(_TYPES[otp_type]),
        message_template_id=optional_text(message_template_id, "message_template_id"),
    )
    answer = await cc.call(post_send_otp.call, body=body)
    operation = "POST /one-time-password/actions/send"
    return answered(answered(answer.data, operation, "data").request_id, operation, "request_id")


async def verify_otp(
    cc: CareCloud,
    *,
    external_application_id: str,
    request_id: str,
    verification_code: str,
) -> bool:
    """Whether ``verification_code`` is the one-time password sent for ``request_id``
    (``POST /one-time-password/actions/verify``). A wrong code is ``False``, not an error; an
    unknown or expired ``request_id`` is the server's refusal (an ``APIError``).

        ok = await verify_otp(cc, external_application_id=app_id, request_id=request_id,
                              verification_code="482913")
    """
    body = PostVerifyOtpBody(
        verification_code=require_text(verification_code, "verification_code"),
        request_id=require_text(request_id, "request_id"),
        external_application_id=require_text(external_application_id, "external_application_id"),
    )
    answer = await cc.call(post_verify_otp.call, body=body)
    operation = "POST /one-time-password/actions/verify"
    is_valid = answered(answered(answer.data, operation, "data").is_valid, operation, "is_valid")
    return is_valid is True
