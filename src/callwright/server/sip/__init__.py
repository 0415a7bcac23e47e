"""The SIP/RTP channel: a SIP user agent server on UDP that answers calls for the IVR.

Why our own code and not a library (evaluated December 2026, see docs/telephony-sip.md):
- pyVoIP 1.6.8 (PyPI): GPLv3 (Callwright is Apache-2.0), threads rather than asyncio,
  built around registering as a phone to a PBX (peer-to-peer/UAS use is an open request,
  its issue 60), audio as 8-bit through `audioop` (removed in Python 3.13), no REFER in
  1.x. It would need rewriting more than using.
- PJSIP (pjsua2): complete and well kept, but GPLv2 (or a commercial licence), no wheel on
  PyPI (SWIG bindings built from a pjproject checkout), its own threads and sound-device
  media model; shipping a C build for a G.711-only UAS is the wrong trade.
- aiortc 1.16 (already a dependency for WebRTC): asyncio and BSD, but its RTP lives inside
  RTCPeerConnection with mandatory ICE and DTLS-SRTP, which plain SIP phones do not speak;
  its `RtpPacket` and `JitterBuffer` are internal modules, not an API to build on, and it
  has no SIP at all.
So this package is the minimum written here, each part small and tested on its own:
`message` (parser/serializer, bounded, fuzzed), `sdp` (offer/answer, G.711 +
telephone-event), `g711` (numpy tables), `rtp` (packets, jitter buffer, RFC 4733 keys),
`call` (a call: the IVR's line, REFER), `uas` (the UDP server: transactions, timers,
call slots, the 20 ms media clock) and `service` (how `callwright serve --sip` hands each
call to the call server).
"""

from callwright.server.sip.call import SipCall
from callwright.server.sip.uas import SipConfig, SipServer, bind_udp, parse_listen

__all__ = ["SipCall", "SipConfig", "SipServer", "bind_udp", "parse_listen"]
