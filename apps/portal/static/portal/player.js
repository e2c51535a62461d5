// The recording player says why it cannot play, instead of showing 0:00 (issue 15, trap 2).
// A separate file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var box = document.getElementById("player-error");
  if (!player || !box) {
    return;
  }
  var reasons = {
    1: "Playback was stopped before the audio loaded.",
    2: "The audio could not be fetched: the playback link may have expired or been used. Go back to the recording and press Play again.",
    3: "The audio could not be decoded: the recording stored for this call is not playable audio. It is kept unchanged as evidence; report the call id to your administrator.",
    4: "This audio could not be played: it is not in a format this browser can decode (it may be damaged), or the playback link is no longer valid. Press Play again; if it fails again, the stored audio is not playable. It is kept unchanged as evidence: tell your administrator the recording number."
  };
  player.addEventListener("error", function () {
    var code = player.error ? player.error.code : 0;
    box.textContent = reasons[code] || "The recording could not be played.";
    box.hidden = false;
    box.setAttribute("data-media-error", String(code));
  });
})();
