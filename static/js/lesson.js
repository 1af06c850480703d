// Report how far the driver watched a lesson's uploaded videos, so that finishing the
// lesson can require most of the video. No framework; runs after the page has parsed.
(function () {
  "use strict";
  var field = document.querySelector("[data-video-seconds]");
  var videos = document.querySelectorAll("video[data-lesson-video]");
  if (!field || !videos.length) return;
  var watched = new Map();
  function total() {
    var sum = 0;
    watched.forEach(function (seconds) { sum += seconds; });
    return Math.floor(sum);
  }
  videos.forEach(function (video) {
    var last = 0;
    watched.set(video, 0);
    video.addEventListener("timeupdate", function () {
      var now = video.currentTime;
      // Count played time only, not jumps made by seeking forward.
      if (now > last && now - last < 2) {
        watched.set(video, watched.get(video) + (now - last));
        field.value = total();
      }
      last = now;
    });
  });
})();
