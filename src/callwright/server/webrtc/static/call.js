// Callwright: call a flow from the browser. Plain JavaScript, no build step, no CDN.
// Signalling: POST offer (non-trickle ICE) -> answer. Keys and hang-up go on the
// "callwright" data channel; the server sends the dialogue back on it.
// Everything the server sends is shown with textContent: flow text is never markup.
"use strict";

const GATHER_TIMEOUT_MS = 5000; // ICE gathering on a local network takes well under a second
const KEYS = "0123456789*#";

const $ = (id) => document.getElementById(id);
let pc = null;
let dc = null;
let mic = null;
let levelTimer = null;

function setState(state, text) {
  document.body.dataset.call = state;
  $("status").textContent = text;
  const active = state === "connecting" || state === "connected";
  $("call").disabled = active;
  $("number").disabled = active;
  $("hangup").disabled = !active;
}

function show(role, text) {
  const li = document.createElement("li");
  li.className = ["ivr", "caller", "info", "end"].includes(role) ? role : "info";
  li.textContent = String(text);
  $("dialogue").appendChild(li);
  li.scrollIntoView({ block: "nearest" });
}

async function loadNumbers() {
  try {
    const resp = await fetch("numbers", { cache: "no-store" });
    const numbers = await resp.json();
    const select = $("number");
    for (const n of numbers) {
      const opt = document.createElement("option");
      opt.value = n.number;
      opt.textContent = n.number ? `${n.number}: ${n.label}` : n.label;
      select.appendChild(opt);
    }
    if (!numbers.length) setState("idle", "No flow is served to the browser.");
  } catch (err) {
    setState("failed", `Cannot list the numbers: ${err}`);
  }
}

function gatheringComplete(conn) {
  if (conn.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (conn.iceGatheringState === "complete") {
        conn.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    conn.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

function onMessage(ev) {
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch (err) {
    return;
  }
  if (msg.type === "show") show(msg.role, msg.text);
  else if (msg.type === "bye") finish("Call ended.");
}

async function startCall(ev) {
  ev.preventDefault();
  const number = $("number").value;
  if ($("number").selectedIndex < 0) return;
  $("dialogue").replaceChildren();
  $("keys").textContent = "";
  setState("connecting", "Connecting...");
  try {
    mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    pc = new RTCPeerConnection();
    dc = pc.createDataChannel("callwright");
    dc.onmessage = onMessage;
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    pc.ontrack = (e) => {
      $("speaker").srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    pc.onconnectionstatechange = () => {
      if (!pc) return;
      const s = pc.connectionState;
      if (s === "connected") setState("connected", `Connected to ${$("number").selectedOptions[0].textContent}.`);
      else if (s === "disconnected") $("status").textContent = "Connection interrupted; waiting...";
      else if (s === "failed") finish("The connection failed.", "failed");
      else if (s === "closed") finish("Call ended.");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const resp = await fetch("offer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp, number }),
    });
    const answer = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(answer.error || `the server answered ${resp.status}`);
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    levelTimer = setInterval(updateLevels, 100);
  } catch (err) {
    finish(`Could not call: ${err.message || err}`, "failed");
  }
}

async function updateLevels() {
  if (!pc) return;
  const stats = await pc.getStats();
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio" && s.audioLevel !== undefined) $("heard").value = s.audioLevel;
    if (s.type === "media-source" && s.kind === "audio" && s.audioLevel !== undefined) $("mic").value = s.audioLevel;
  });
}

function sendKey(key) {
  if (!KEYS.includes(key) || !dc || dc.readyState !== "open") return;
  dc.send(JSON.stringify({ type: "key", key }));
  $("keys").textContent = ($("keys").textContent + key).slice(-24);
}

function hangUp() {
  if (dc && dc.readyState === "open") dc.send(JSON.stringify({ type: "hangup" }));
  finish("You hung up.");
}

function finish(text, state = "ended") {
  if (levelTimer) clearInterval(levelTimer);
  levelTimer = null;
  const conn = pc;
  pc = null;
  if (conn) setTimeout(() => conn.close(), 200); // let a last data-channel message go out
  dc = null;
  if (mic) mic.getTracks().forEach((t) => t.stop());
  mic = null;
  $("heard").value = 0;
  $("mic").value = 0;
  if (document.body.dataset.call !== "ended" && document.body.dataset.call !== "failed") setState(state, text);
}

document.addEventListener("DOMContentLoaded", () => {
  $("dial").addEventListener("submit", startCall);
  $("hangup").addEventListener("click", hangUp);
  for (const b of $("keypad").querySelectorAll("button[data-key]")) {
    b.addEventListener("click", () => sendKey(b.dataset.key));
  }
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
    if (KEYS.includes(e.key)) sendKey(e.key);
  });
  // Closing or leaving the page hangs up at once (otherwise the server notices only when
  // ICE consent expires, about 30 s later).
  window.addEventListener("pagehide", () => {
    if (dc && dc.readyState === "open") dc.send(JSON.stringify({ type: "hangup" }));
    if (pc) pc.close();
  });
  setState("idle", "Idle.");
  loadNumbers();
});
