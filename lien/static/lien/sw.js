/* Lien — service worker: the field pages open without network after one visit.
 *
 * Served from /sw.js (lien/logbook/pwa.py) so that its scope is the whole site, but it
 * only answers for:
 *   - static files (/static/…): cache first; in production their names carry a content
 *     hash, so a cached copy is never stale; unhashed names (development) are refreshed in
 *     the background;
 *   - the field pages (entry, outbox, my log): network first, the last copy when offline.
 * Everything else — and every POST, and the sync endpoint above all — goes to the network
 * untouched: the offline outbox lives in IndexedDB (logbook.js), never in this cache.
 *
 * Bump VERSION when this file's caching rules change: activation deletes older caches.
 */
"use strict";

const VERSION = "lien-v1";
const STATIC_CACHE = `${VERSION}-static`;
const PAGE_CACHE = `${VERSION}-pages`;
const PAGES = [
  "/journal-de-bord/saisir/",
  "/journal-de-bord/envois/",
  "/journal-de-bord/",
  "/manifest.webmanifest",
];
const NEVER = ["/journal-de-bord/sync/"];
// Django's ManifestStaticFilesStorage: name.0123456789ab.ext
const HASHED = /\.[0-9a-f]{12}\.[A-Za-z0-9]+$/;

function cacheablePage(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

/** Fetch the field pages and the static files they use, while the user is logged in. */
async function precache() {
  const pages = await caches.open(PAGE_CACHE);
  const assets = new Set();
  for (const path of PAGES) {
    try {
      const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
      if (!cacheablePage(response)) {
        continue; // not logged in (redirected to the login page), or no access
      }
      const type = response.headers.get("Content-Type") || "";
      if (type.startsWith("text/html")) {
        const html = await response.clone().text();
        for (const match of html.matchAll(/(?:href|src)="(\/static\/[^"?#]+)"/g)) {
          assets.add(match[1]);
        }
      }
      await pages.put(path, response);
    } catch (error) {
      // Offline while installing: the pages are cached on the next visit instead.
    }
  }
  const statics = await caches.open(STATIC_CACHE);
  await Promise.all(
    [...assets].map(async (path) => {
      try {
        const response = await fetch(path, { credentials: "same-origin" });
        if (response.ok) {
          await statics.put(path, response);
        }
      } catch (error) {
        // Fetched again at first use.
      }
    }),
  );
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("lien-") && !name.startsWith(`${VERSION}-`))
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function cacheFirst(event, url) {
  const cache = await caches.open(STATIC_CACHE);
  const refresh = () =>
    fetch(event.request).then((response) => {
      if (response.ok && response.type === "basic") {
        return cache.put(url.pathname, response.clone()).then(() => response);
      }
      return response;
    });
  const cached = await cache.match(event.request, { ignoreSearch: true });
  if (!cached) {
    return refresh();
  }
  if (!HASHED.test(url.pathname)) {
    event.waitUntil(refresh().catch(() => undefined));
  }
  return cached;
}

function offlinePage() {
  // No inline style or script: the page's CSP applies to this response too.
  const html =
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    "<title>Hors ligne — Lien</title></head><body><main>" +
    "<h1>Hors ligne</h1>" +
    "<p>Cette page n'a pas encore été ouverte sur ce téléphone : elle n'est pas disponible " +
    "sans réseau.</p>" +
    '<p><a href="/journal-de-bord/saisir/">Saisir une intervention</a> · ' +
    '<a href="/journal-de-bord/envois/">Envois en attente</a></p>' +
    "</main></body></html>";
  return new Response(html, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });
}

async function networkFirst(event, url) {
  const cache = await caches.open(PAGE_CACHE);
  const key = url.pathname;
  try {
    const response = await fetch(event.request);
    // A page with a query string (?enregistre=1, ?tournee=…) is not the plain page.
    if (cacheablePage(response) && !url.search) {
      event.waitUntil(cache.put(key, response.clone()));
    }
    if (response.status >= 500) {
      const cached = await cache.match(key);
      if (cached) {
        return cached;
      }
    }
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) {
      return cached;
    }
    if (event.request.mode === "navigate") {
      return offlinePage();
    }
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.method !== "GET") {
    // Logging in or out: the cached pages belong to the previous account.
    if (url.pathname.startsWith("/accounts/")) {
      event.waitUntil(caches.delete(PAGE_CACHE));
    }
    return;
  }
  if (NEVER.includes(url.pathname)) {
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(event, url));
  } else if (PAGES.includes(url.pathname)) {
    event.respondWith(networkFirst(event, url));
  }
});
