// Roadwise service worker (issue 7): lessons a driver saved open without a signal, and a
// page that was not saved shows the offline page instead of the browser's error.
// Served by courses.views.service_worker at /sw.js, which fills in VERSION (a hash of this
// file and of the files below, so a deploy installs a new worker and drops old caches),
// PRECACHE (static files every page needs, and the offline page in each language) and
// OFFLINE (language prefix -> that language's offline page). No libraries.
"use strict";
var VERSION = "__VERSION__";
var PRECACHE = __PRECACHE__;
var OFFLINE = __OFFLINE__;
var STATIC = "roadwise-static-" + VERSION;
var SAVED = "roadwise-course-"; // one cache per saved course, filled by static/js/offline.js

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC).then(function (cache) {
      return cache.addAll(PRECACHE.map(function (url) {
        return new Request(url, { cache: "reload", credentials: "same-origin" });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) {
        if (name.indexOf("roadwise-static-") === 0 && name !== STATIC) return caches.delete(name);
        // Saved pages name the old deploy's static files: fetch them again (best effort).
        if (name.indexOf(SAVED) === 0) return refreshSaved(name);
        return null;
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

function refreshSaved(name) {
  return caches.open(name).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.map(function (request) {
        if (!isPage(new URL(request.url))) return null;
        return fetch(request.url, { credentials: "same-origin", cache: "no-cache" })
          .then(function (response) {
            if (response.ok && !response.redirected) return cache.put(request.url, response);
            return null;
          })
          .catch(function () { return null; });
      }));
    });
  });
}

function isPage(url) {
  return url.pathname.indexOf("/static/") !== 0 && url.pathname.indexOf("/media/") !== 0;
}

function offlinePage(url) {
  var best = "/";
  Object.keys(OFFLINE).forEach(function (prefix) {
    if (url.pathname.indexOf(prefix) === 0 && prefix.length > best.length) best = prefix;
  });
  return caches.match(OFFLINE[best] || OFFLINE["/"], { ignoreVary: true });
}

function savedCopy(request) {
  return caches.keys().then(function (names) {
    var saved = names.filter(function (name) { return name.indexOf(SAVED) === 0; });
    return saved.reduce(function (found, name) {
      return found.then(function (hit) {
        if (hit) return hit;
        return caches.open(name).then(function (cache) {
          return cache.match(request, { ignoreVary: true }).then(function (response) {
            return response ? { cache: cache, response: response } : null;
          });
        });
      });
    }, Promise.resolve(null));
  });
}

// Pages: the network first (progress must be current); a saved copy is kept fresh, and is
// what opens when there is no signal.
function page(request, url) {
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      savedCopy(request).then(function (hit) {
        if (hit) hit.cache.put(request.url, copy);
      }).catch(function () {});
    }
    return response;
  }).catch(function () {
    return savedCopy(request).then(function (hit) {
      return hit ? hit.response : offlinePage(url);
    }).then(function (response) {
      return response || Response.error();
    });
  });
}

// Static files (hashed names in production) and images: the cache first.
function cacheFirst(request, keep) {
  return caches.match(request, { ignoreVary: true }).then(function (hit) {
    if (hit) return hit;
    return fetch(request).then(function (response) {
      if (keep && response.ok) {
        var copy = response.clone();
        caches.open(STATIC).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  } else if (/^\/static\/(css|js|img)\//.test(url.pathname)) { // the site's own, not the admin's
    event.respondWith(cacheFirst(request, true));
  } else if (url.pathname.indexOf("/media/") === 0) {
    event.respondWith(cacheFirst(request, false));
  }
});
