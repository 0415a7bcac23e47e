"""The browser (WebRTC) call channel: a page where a person calls a flow from the microphone.

- `app.WebRtcEndpoint`: the Starlette router (page, `POST offer`, numbers, static files) to
  mount on the server's HTTP app, and the live browser calls with their slots.
- `line.WebRtcLine`: one browser call as a `LineDevice` (8 kHz int16 mono in and out, keys and
  hang-up as events), for the live channel that runs the flow.
- `messages`: what the page may send (the offer, keys, hang-up), checked as untrusted input.

aiortc (and av) are imported only when a call is set up, so importing this package is cheap.
See docs/telephony-webrtc.md.
"""

from callwright.server.webrtc.app import (
    CONNECT_TIMEOUT_S,
    MAX_CALLS,
    CallHandler,
    Dialable,
    WebRtcCall,
    WebRtcEndpoint,
)
from callwright.server.webrtc.line import LINE_RATE, WebRtcLine

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LINE_RATE",
    "MAX_CALLS",
    "CallHandler",
    "Dialable",
    "WebRtcCall",
    "WebRtcEndpoint",
    "WebRtcLine",
]
