"""The IVR server (`callwright serve`): network call channels (SIP/RTP, Asterisk AudioSocket,
WebRTC) answering many calls at once, each run through the same engine and call log as every
other channel. Above `store` (it wires the call log sink) and `ivr` (it runs the calls).

How a network channel hands a call to the server (the whole seam):

1. Implement `callwright.ivr.channels.line.LineDevice` for one call's audio path:
   `rate`, `start(on_input, on_event)`, `play(samples)`, `stop_playback()`, `playing`,
   `close()` (and, optionally, `transfer(action)` of `line.TransferringLine`: called when
   the flow transfers the call, e.g. to send a SIP REFER; answer with a `TransferOutcome`
   through `on_event`, which a transfer state's `transferred`/`failed` edges follow). Push caller
   frames (int16 mono at `rate`) to `on_input`, out-of-band keys (`Dtmf("5")`, RFC 4733)
   and the far end's hang-up (`Hangup()`) to `on_event`, from any thread; pace `play`ed
   audio yourself (one frame per packet time).
2. Hand it over, from any thread; it returns at once:

       handle = calls.offer(IncomingCall(channel="sip", device=device,
                                         called_number="5550100", caller_id="+15550123",
                                         remote="127.0.0.1:5080"))

   `None` means no free call slot or the server is shutting down: nothing started, answer
   busy (SIP 486/503) and release the device yourself. Otherwise the call runs on its own
   thread: the server routes it by `called_number`, starts the device, runs the flow, writes
   the call log and the stereo recording, and closes the device when the call ends (the IVR
   hung up: `close()` is where you send BYE).
3. `handle.call_id` is the call log's id; `handle.future` (a `concurrent.futures.Future` of
   `CallResult`) completes when the call has ended and been logged (`asyncio.wrap_future` it
   on the loop); `handle.end(reason)` ends the call from the network side with outcome
   `error` and that reason (a protocol fault). A far end that hangs up sends `Hangup()`
   through `on_event` instead (outcome `abandoned`).

A service that listens runs on the server's asyncio loop: implement `app.Service`
(`name`, `async start(calls, events) -> "udp:127.0.0.1:5062"`, `async stop()`) and pass it
in `ServerApp(calls, services=[...])`; `ServerApp.http_app` is the Starlette app a page
mounts on. `events.emit("line_error", channel=..., remote=..., error=...)` logs a peer's
bad input as one JSON line.
"""

from callwright.server.calls import CallHandle, CallResult, CallServer, IncomingCall

__all__ = ["CallHandle", "CallResult", "CallServer", "IncomingCall"]
