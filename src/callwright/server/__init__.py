"""The IVR server (`callwright serve`): network call channels (SIP/RTP, Asterisk AudioSocket,
WebRTC) answering many calls at once, each run through the same engine and call log as every
other channel. Above `store` (it wires the call log sink) and `ivr` (it runs the calls)."""
