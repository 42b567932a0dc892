"""WhatsApp, by the official APIs only: Twilio (``whatsapp``) and Meta's Cloud API
(``whatsapp_cloud``). Both key people by their E.164 number. 1:1 chats only."""

from adapters.whatsapp.cloud_channel import SPEC as CLOUD_SPEC
from adapters.whatsapp.twilio_channel import SPEC as TWILIO_SPEC

__all__ = ["CLOUD_SPEC", "TWILIO_SPEC"]
