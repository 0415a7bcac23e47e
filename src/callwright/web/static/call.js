// The call page: click an utterance (or an evidence time) to play from there; the utterance
// being played is highlighted and kept in view. Plain JS, no build step.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var utts = Array.prototype.slice.call(document.querySelectorAll("#transcript .utt"));
  function playFrom(t) {
    if (!player) return;
    player.currentTime = t;
    var p = player.play();
    if (p && p.catch) p.catch(function () {}); // autoplay may be refused; the position is set
    highlight();
  }
  utts.forEach(function (li) {
    var start = parseFloat(li.dataset.start);
    li.addEventListener("click", function () { playFrom(start); });
    li.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); playFrom(start); }
    });
  });
  document.querySelectorAll("[data-seek]").forEach(function (b) {
    b.addEventListener("click", function () { playFrom(parseFloat(b.dataset.seek)); });
  });
  var current = null;
  function highlight() {
    if (!player) return;
    var t = player.currentTime, found = null;
    for (var i = 0; i < utts.length; i++) {
      var li = utts[i];
      if (t >= parseFloat(li.dataset.start) && t < parseFloat(li.dataset.end)) { found = li; break; }
    }
    if (found === current) return;
    if (current) { current.classList.remove("playing"); current.removeAttribute("aria-current"); }
    current = found;
    if (current) {
      current.classList.add("playing");
      current.setAttribute("aria-current", "true");
      if (current.scrollIntoView && !player.paused) current.scrollIntoView({ block: "nearest" });
    }
  }
  if (player) {
    player.addEventListener("timeupdate", highlight);
    player.addEventListener("seeked", highlight);
  }
})();
