// Offline study (issue 7), on course and lesson pages: registers the service worker, saves
// a course's lessons for offline reading, and queues "I have finished this lesson" while the
// phone has no signal, sending the queue when it is back. Translated strings and URLs come
// from data- attributes of #offline-config, rendered by the templates. No libraries.
(function () {
  "use strict";
  var config = document.getElementById("offline-config");
  if (!config) return;
  var data = config.dataset;
  var QUEUE = "roadwise-completions";

  function say(element, text) { if (element) element.textContent = text; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return values[key]; });
  }

  // --- the service worker ------------------------------------------------------------------
  if ("serviceWorker" in navigator && data.sw) {
    navigator.serviceWorker.register(data.sw, { scope: "/" }).catch(function () {});
  }

  // A phone shared by two drivers: one's saved lessons are not left to the other.
  var ready = Promise.resolve();
  try {
    var owner = localStorage.getItem("roadwise-offline-user");
    if (owner && owner !== data.user && "caches" in window) {
      ready = caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("roadwise-course-") === 0;
        }).map(function (name) { return caches.delete(name); }));
      });
    }
    localStorage.setItem("roadwise-offline-user", data.user);
  } catch (e) { /* storage refused: nothing saved either */ }

  // --- save a course for offline reading -----------------------------------------------------
  var box = document.querySelector("[data-offline-save]");
  if (box && "caches" in window && "serviceWorker" in navigator) {
    var urls = {
      course: location.pathname,
      lessons: Array.prototype.map.call(document.querySelectorAll("a[data-lesson-link]"), function (a) {
        return new URL(a.getAttribute("href"), location.href).pathname;
      })
    };
    var cacheName = box.dataset.cache;
    var status = box.querySelector("[data-offline-status]");
    var save = box.querySelector("[data-offline-action=save]");
    var remove = box.querySelector("[data-offline-action=remove]");

    var show = function (saved) {
      box.hidden = false;
      save.hidden = saved > 0;
      remove.hidden = saved === 0;
      if (saved === 0) say(status, "");
      else if (saved === urls.lessons.length) say(status, box.dataset.savedAll);
      else say(status, fill(box.dataset.savedSome, { saved: saved, total: urls.lessons.length }));
    };
    var countSaved = function () {
      return caches.has(cacheName).then(function (exists) {
        if (!exists) return 0;
        return caches.open(cacheName).then(function (cache) {
          return Promise.all(urls.lessons.map(function (url) { return cache.match(url); }));
        }).then(function (hits) { return hits.filter(Boolean).length; });
      });
    };
    // A page and what it needs: its style sheets, scripts and images (every srcset width).
    var savePage = function (cache, url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok || response.redirected) throw new Error(url);
        return response.clone().text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var needs = [];
          doc.querySelectorAll("link[rel=stylesheet][href], script[src], img").forEach(function (el) {
            var src = el.getAttribute("href") || el.getAttribute("src");
            if (src) needs.push(src);
            (el.getAttribute("srcset") || "").split(",").forEach(function (part) {
              var candidate = part.trim().split(/\s+/)[0];
              if (candidate) needs.push(candidate);
            });
          });
          needs = needs.map(function (src) { return new URL(src, location.href); })
            .filter(function (u) { return u.origin === location.origin; })
            .map(function (u) { return u.href; });
          return Promise.all(needs.map(function (need) {
            return cache.match(need).then(function (hit) { return hit || cache.add(need); })
              .catch(function () {});
          })).then(function () { return cache.put(url, response); });
        });
      });
    };

    save.addEventListener("click", function () {
      save.disabled = true;
      var done = 0;
      say(status, fill(box.dataset.saving, { done: 0, total: urls.lessons.length }));
      caches.open(cacheName).then(function (cache) {
        return savePage(cache, urls.course).then(function () {
          return urls.lessons.reduce(function (chain, url) {
            return chain.then(function () { return savePage(cache, url); }).then(function () {
              done += 1;
              say(status, fill(box.dataset.saving, { done: done, total: urls.lessons.length }));
            });
          }, Promise.resolve());
        });
      }).then(countSaved).then(show).catch(function () {
        countSaved().then(show).then(function () { say(status, box.dataset.failed); });
      }).then(function () { save.disabled = false; });
    });
    remove.addEventListener("click", function () {
      caches.delete(cacheName).then(function () { show(0); });
    });
    ready.then(countSaved).then(show);
  }

  // --- progress made offline -------------------------------------------------------------------
  var readQueue = function () {
    try { return JSON.parse(localStorage.getItem(QUEUE)) || []; } catch (e) { return []; }
  };
  var writeQueue = function (queue) { localStorage.setItem(QUEUE, JSON.stringify(queue)); };
  var note = document.querySelector("[data-offline-note]");
  var form = document.querySelector("form.complete-form[data-sync-url]");
  var queuedHere = function () {
    return form && readQueue().some(function (item) {
      return item.user === data.user && item.url === form.dataset.syncUrl;
    });
  };
  var showQueued = function () {
    form.hidden = true;
    say(note, data.queued);
    note.hidden = false;
  };
  if (form) {
    if (queuedHere()) showQueued();
    form.addEventListener("submit", function (event) {
      if (navigator.onLine) return; // with a signal, the form posts as usual
      event.preventDefault();
      var seconds = form.querySelector("[data-video-seconds]");
      var queue = readQueue().filter(function (item) { return item.url !== form.dataset.syncUrl; });
      queue.push({ user: data.user, url: form.dataset.syncUrl, seconds: seconds ? seconds.value : 0 });
      writeQueue(queue);
      showQueued();
    });
  }
  document.querySelectorAll("form.quiz-form").forEach(function (quiz) {
    quiz.addEventListener("submit", function (event) {
      if (navigator.onLine) return;
      event.preventDefault();
      say(note, data.quizOffline);
      note.hidden = false;
    });
  });

  var sending = false;
  var sync = function () {
    var mine = readQueue().filter(function (item) { return item.user === data.user; });
    if (sending || !navigator.onLine || !mine.length || !data.user) return;
    sending = true;
    mine.reduce(function (chain, item) {
      return chain.then(function () {
        return fetch(item.url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": data.csrf, "Content-Type": "application/x-www-form-urlencoded" },
          body: "video_seconds_watched=" + encodeURIComponent(item.seconds || 0)
        }).then(function (response) {
          // 403 without JSON: a stale CSRF token; keep the item for the next page.
          var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
          if (!json) return;
          return response.json().then(function (answer) {
            writeQueue(readQueue().filter(function (other) { return other.url !== item.url; }));
            if (!answer.ok) { say(note, fill(data.failed, { message: answer.message || "" })); return; }
            document.querySelectorAll("progress[data-progress]").forEach(function (bar) {
              if (bar.dataset.progress === String(answer.course)) bar.value = answer.progress_percent;
            });
            var label = document.querySelector("[data-progress-label]");
            if (label && label.dataset.template) say(label, fill(label.dataset.template, answer));
            if (form && item.url === form.dataset.syncUrl) say(note, data.sent);
          });
        });
      });
    }, Promise.resolve()).catch(function () {}).then(function () { sending = false; });
  };
  window.addEventListener("online", sync);
  sync();
})();
