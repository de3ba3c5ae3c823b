/* Lien — the field logbook on a phone: quick entry, offline outbox, sync.
 *
 * Plain ES2020, no build step. Without JavaScript the entry form still posts to the
 * server as a normal form; with it:
 *   - the optional fields follow the chosen activity (#activity-fields);
 *   - every entry first goes to an outbox on the device (IndexedDB "lien", store
 *     "outbox") under a UUID made here, then to POST /journal-de-bord/sync/. The endpoint
 *     is idempotent (an entry sent twice is stored once), so an entry is only ever marked
 *     sent once the server has said so, and is sent again until then;
 *   - the outbox empties itself when the network comes back, on page load and every
 *     minute while entries wait, backing off when the network keeps failing;
 *   - the outbox page (#outbox) lists what waits, what failed and why, the conflicts
 *     (an offline correction of an entry changed on the server meanwhile: never
 *     overwritten silently, the mediator chooses), and lets entries be retried or deleted.
 *
 * Records are kept per account and membership (data-owner): an entry typed under one
 * account is never sent under another one logged in later on the same phone.
 */
(function () {
  "use strict";

  const DB_NAME = "lien";
  const DB_VERSION = 1;
  const STORE = "outbox";
  const BATCH_SIZE = 50;
  const POLL_MS = 60 * 1000;
  const BACKOFF_FIRST_MS = 5 * 1000;
  const BACKOFF_MAX_MS = 5 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 30 * 1000;
  const SENT_KEPT_DAYS = 3;
  const DEFAULT_SYNC_URL = "/journal-de-bord/sync/";
  const DEFAULT_OUTBOX_URL = "/journal-de-bord/envois/";
  const VOCABULARY_KEY = "lien-vocabulary";
  // What the next entry keeps from the last one (as the page does without JavaScript).
  const KEPT_FOR_NEXT = [
    "service",
    "commune",
    "qpv",
    "place_type",
    "activity_type",
    "domain",
    "mediators",
    "shift",
  ];
  const OPEN = ["pending", "sending", "failed", "invalid", "conflict"];

  const STATUS_LABELS = {
    pending: "En attente d'envoi",
    sending: "Envoi en cours",
    sent: "Envoyée",
    failed: "Échec de l'envoi",
    invalid: "À corriger",
    conflict: "Conflit à résoudre",
  };

  // Field names → labels, for the outbox page (which has no form to read them from).
  const FIELD_LABELS = {
    _: "Intervention",
    id: "Identifiant",
    data: "Données",
    base_version: "Version",
    service: "Dispositif",
    started_at: "Date et heure",
    duration_minutes: "Durée (minutes)",
    commune: "Commune",
    qpv: "QPV",
    place_type: "Type de lieu",
    activity_type: "Activité",
    domain: "Domaine",
    situation_category: "Situation",
    origin: "Origine",
    timing: "Temporalité",
    form: "Forme",
    people_met: "Personnes rencontrées",
    outcome: "Issue",
    emergency_handoff: "Relais d'urgence",
    mediators: "En binôme avec",
    shift: "Tournée ou permanence",
    note: "Remarque",
    note_confirmed: "Confirmation de la remarque",
    access_requests: "Demandes par thème",
  };
  const COMPARED_FIELDS = Object.keys(FIELD_LABELS).filter(
    (name) => !["_", "id", "data", "base_version", "note_confirmed"].includes(name),
  );

  // --- small helpers ------------------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) {
        continue;
      }
      if (name === "className") {
        node.className = value;
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Older browsers, and pages served over plain HTTP (randomUUID needs a secure context).
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  /** "2026-03-12T14:05", the value of a datetime-local input, in the phone's time. */
  function localInputValue(date) {
    return (
      `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
      `T${pad(date.getHours())}:${pad(date.getMinutes())}`
    );
  }

  /** The phone's UTC offset at that local time, "+01:00", so the server reads it exactly. */
  function withOffset(value) {
    const date = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) || Number.isNaN(date.getTime())) {
      return value;
    }
    const minutes = -date.getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const abs = Math.abs(minutes);
    return `${value}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  function formatDate(value) {
    if (!value) {
      return "";
    }
    const date = typeof value === "number" ? new Date(value) : new Date(value);
    if (Number.isNaN(date.getTime())) {
      return String(value);
    }
    return date.toLocaleString("fr-FR", {
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function plural(count, one, many) {
    return `${count} ${count > 1 ? many : one}`;
  }

  // --- the outbox in IndexedDB --------------------------------------------------------

  let dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        if (!window.indexedDB) {
          reject(new Error("IndexedDB indisponible"));
          return;
        }
        const request = window.indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains(STORE)) {
            const store = db.createObjectStore(STORE, { keyPath: "id" });
            store.createIndex("status", "status");
          }
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("IndexedDB bloquée"));
      });
    }
    return dbPromise;
  }

  async function withStore(mode, action) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      let result;
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("transaction annulée"));
      const request = action(transaction.objectStore(STORE));
      if (request) {
        request.onsuccess = () => {
          result = request.result;
        };
      }
    });
  }

  const outbox = {
    all: () => withStore("readonly", (store) => store.getAll()),
    get: (id) => withStore("readonly", (store) => store.get(id)),
    put: (record) => withStore("readwrite", (store) => store.put(record)),
    remove: (id) => withStore("readwrite", (store) => store.delete(id)),
    /** Change some fields of a record, if it still exists. */
    async update(id, changes) {
      const record = await outbox.get(id);
      if (!record) {
        return null;
      }
      Object.assign(record, changes, { updated: Date.now() });
      await outbox.put(record);
      return record;
    },
  };

  // --- the page: who, where to send, CSRF ---------------------------------------------

  const page = {
    form: null,
    outboxEl: null,
    statusEl: null,
    owner: "",
    syncUrl: DEFAULT_SYNC_URL,
    outboxUrl: DEFAULT_OUTBOX_URL,
    entryUrl: "",
    csrf: "",
  };

  function readPage() {
    page.form = document.getElementById("intervention-form");
    page.outboxEl = document.getElementById("outbox");
    page.statusEl = document.getElementById("connection-status");
    const source = page.form || page.outboxEl;
    if (source) {
      page.owner = source.dataset.owner || "";
      page.syncUrl = source.dataset.syncUrl || DEFAULT_SYNC_URL;
      page.entryUrl = source.dataset.entryUrl || "";
    }
    if (page.statusEl && page.statusEl.dataset.outboxUrl) {
      page.outboxUrl = page.statusEl.dataset.outboxUrl;
    } else if (page.outboxEl) {
      page.outboxUrl = window.location.pathname;
    }
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    page.csrf = token ? token.value : "";
  }

  function mine(record) {
    return (record.owner || "") === page.owner;
  }

  /** A fresh CSRF token, when the one in a page opened from the cache has gone stale. */
  async function refreshCsrf() {
    try {
      const response = await fetch(page.outboxUrl, {
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok || response.redirected) {
        return false;
      }
      const html = await response.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const token = doc.querySelector("input[name=csrfmiddlewaretoken]");
      if (token && token.value) {
        page.csrf = token.value;
        document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((input) => {
          input.value = token.value;
        });
        return true;
      }
    } catch (error) {
      // offline: the caller reports the network error
    }
    return false;
  }

  // --- sending ------------------------------------------------------------------------

  class NetworkError extends Error {}

  /** Why a whole batch was refused, from the answer's status and body. */
  async function batchProblem(response) {
    let detail = "";
    try {
      const body = await response.clone().json();
      detail = body && body.error ? ` ${body.error}` : "";
    } catch (error) {
      detail = "";
    }
    if (response.status === 403) {
      return `Envoi refusé (403) : votre compte ne peut pas saisir d'interventions pour ce rattachement.${detail}`;
    }
    if (response.status >= 500) {
      return `Erreur du serveur (${response.status}) : réessayez plus tard.${detail}`;
    }
    return `Envoi refusé par le serveur (${response.status}).${detail}`;
  }

  async function postBatch(entries, retried) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
    let response;
    try {
      response = await fetch(page.syncUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": page.csrf,
          "X-Requested-With": "fetch",
        },
        body: JSON.stringify({ entries }),
        signal: controller ? controller.signal : undefined,
      });
    } catch (error) {
      throw new NetworkError(error && error.message ? error.message : "réseau indisponible");
    } finally {
      if (timer) {
        clearTimeout(timer);
      }
    }
    const type = response.headers.get("Content-Type") || "";
    if (response.redirected || (response.ok && !type.includes("json"))) {
      // Sent to the login page: the session has expired.
      return { expired: true };
    }
    if (response.status === 403 && !type.includes("json") && !retried) {
      // Most likely a stale CSRF token (a page opened from the cache): get a new one, once.
      if (await refreshCsrf()) {
        return postBatch(entries, true);
      }
    }
    if (!response.ok) {
      return { problem: await batchProblem(response) };
    }
    return { results: (await response.json()).results || [] };
  }

  function applyResult(record, result) {
    const now = Date.now();
    const changes = { updated: now, attempts: (record.attempts || 0) + 1 };
    switch (result.status) {
      case "created":
      case "updated":
      case "already_synced":
        Object.assign(changes, {
          status: "sent",
          sent_at: now,
          version: result.version ?? null,
          errors: {},
          message: "",
          server: null,
        });
        break;
      case "invalid":
        Object.assign(changes, {
          status: "invalid",
          errors: result.errors || {},
          message: result.message || "",
        });
        break;
      case "conflict":
        Object.assign(changes, {
          status: "conflict",
          errors: {},
          message: result.message || "Cette intervention a changé sur le serveur entre-temps.",
          server: result.server || null,
          server_version: result.version ?? null,
        });
        break;
      case "refused":
        Object.assign(changes, {
          status: "failed",
          errors: result.errors || {},
          message: result.message || "Envoi refusé par le serveur.",
        });
        break;
      default:
        Object.assign(changes, { status: "pending" });
    }
    return Object.assign(record, changes);
  }

  /**
   * Send records as one batch and store what the server answered for each.
   * Returns {network: true} if the network failed (the records stay pending).
   */
  async function sendBatch(records) {
    const now = Date.now();
    for (const record of records) {
      Object.assign(record, { status: "sending", updated: now });
      await outbox.put(record);
    }
    let answer;
    try {
      answer = await postBatch(
        records.map((r) => ({ id: r.id, base_version: r.base_version ?? null, data: r.data })),
      );
    } catch (error) {
      if (!(error instanceof NetworkError)) {
        throw error;
      }
      for (const record of records) {
        Object.assign(record, { status: "pending", updated: Date.now() });
        await outbox.put(record);
      }
      return { network: true };
    }
    if (answer.expired) {
      for (const record of records) {
        Object.assign(record, {
          status: "pending",
          updated: Date.now(),
          message:
            "Session expirée : reconnectez-vous, l'envoi reprendra tout seul ensuite.",
        });
        await outbox.put(record);
      }
      return { network: true, expired: true };
    }
    if (answer.problem) {
      for (const record of records) {
        Object.assign(record, {
          status: "failed",
          updated: Date.now(),
          attempts: (record.attempts || 0) + 1,
          message: answer.problem,
        });
        await outbox.put(record);
      }
      return { problem: answer.problem };
    }
    const byId = new Map(answer.results.map((result) => [String(result.id), result]));
    const results = {};
    for (const record of records) {
      const result = byId.get(record.id) || { status: "pending" };
      applyResult(record, result);
      if (record.status === "pending") {
        record.message = "";
      }
      await outbox.put(record);
      results[record.id] = result;
    }
    return { results };
  }

  // One sync at a time in this page, and across tabs where the browser can lock.
  let syncChain = Promise.resolve();

  function locking() {
    return Boolean(navigator.locks && navigator.locks.request);
  }

  function exclusive(task) {
    const run = () => (locking() ? navigator.locks.request("lien-outbox-sync", task) : task());
    const next = syncChain.then(run, run);
    syncChain = next.catch(() => undefined);
    return next;
  }

  /**
   * Send the given records (default: all pending ones of this account), ≤ 50 per request.
   * Returns {results, network, problem, expired, remaining}; a network failure is not thrown.
   */
  function syncRecords(ids) {
    return exclusive(async () => {
      const all = (await outbox.all()).filter(mine);
      // "sending" left by a page closed mid-request. Holding the lock, nobody else is
      // sending: they are all orphans. Without locks, only those older than a request.
      const staleBefore = locking() ? Infinity : Date.now() - REQUEST_TIMEOUT_MS * 2;
      let queue = all.filter(
        (r) => r.status === "pending" || (r.status === "sending" && r.updated < staleBefore),
      );
      if (ids) {
        queue = all.filter((r) => ids.includes(r.id));
      }
      queue.sort((a, b) => a.created - b.created);
      const outcome = { results: {}, network: false, problem: "", expired: false };
      if (queue.length && navigator.onLine === false) {
        outcome.network = true;
      }
      while (queue.length && !outcome.network) {
        const batch = queue.splice(0, BATCH_SIZE);
        const answer = await sendBatch(batch);
        if (answer.network) {
          outcome.network = true;
          outcome.expired = Boolean(answer.expired);
        } else if (answer.problem) {
          outcome.problem = answer.problem;
        } else {
          Object.assign(outcome.results, answer.results);
        }
      }
      outcome.remaining = (await outbox.all()).filter(
        (r) => mine(r) && (r.status === "pending" || r.status === "sending"),
      ).length;
      return outcome;
    }).finally(() => refreshViews());
  }

  // --- automatic sync ------------------------------------------------------------------

  const auto = { timer: null, failures: 0 };

  function scheduleSync(delay) {
    clearTimeout(auto.timer);
    auto.timer = setTimeout(autoSync, delay);
  }

  async function autoSync() {
    clearTimeout(auto.timer);
    let outcome;
    try {
      outcome = await syncRecords();
    } catch (error) {
      outcome = { network: true, remaining: 1 };
    }
    if (outcome.network) {
      auto.failures += 1;
      scheduleSync(Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (auto.failures - 1)));
    } else {
      auto.failures = 0;
      if (outcome.remaining > 0) {
        scheduleSync(POLL_MS);
      }
    }
    return outcome;
  }

  async function prune() {
    const limit = Date.now() - SENT_KEPT_DAYS * 24 * 3600 * 1000;
    for (const record of await outbox.all()) {
      if (record.status === "sent" && (record.sent_at || record.updated) < limit) {
        await outbox.remove(record.id);
      }
    }
  }

  // --- connection status and counters --------------------------------------------------

  function setText(node, text) {
    if (node.textContent !== text) {
      node.textContent = text;
    }
  }

  async function refreshStatus() {
    let records = [];
    try {
      records = (await outbox.all()).filter(mine);
    } catch (error) {
      records = [];
    }
    const waiting = records.filter((r) => r.status === "pending" || r.status === "sending");
    const problems = records.filter((r) => ["failed", "invalid", "conflict"].includes(r.status));
    const online = navigator.onLine !== false;
    const status = page.statusEl;
    if (status) {
      status.classList.toggle("is-online", online);
      status.classList.toggle("is-offline", !online);
      status.classList.toggle("has-pending", waiting.length > 0);
      status.classList.toggle("has-problems", problems.length > 0);
      const parts = [
        online ? "En ligne." : "Hors ligne : les saisies restent sur ce téléphone.",
      ];
      if (waiting.length) {
        parts.push(`${plural(waiting.length, "saisie", "saisies")} en attente d'envoi.`);
      }
      if (problems.length) {
        parts.push(`${plural(problems.length, "saisie", "saisies")} à vérifier.`);
      }
      const text = parts.join(" ");
      if (status.dataset.text !== text) {
        status.dataset.text = text;
        status.replaceChildren(el("span", { className: "connection-dot", "aria-hidden": "true" }), text);
        if ((waiting.length || problems.length) && status.dataset.outboxUrl) {
          status.append(" ", el("a", { href: status.dataset.outboxUrl }, "Voir les envois"));
        }
      }
    }
    // A counter anywhere on the page (e.g. in the header), if the layout provides one.
    document.querySelectorAll("[data-outbox-count]").forEach((node) => {
      const count = waiting.length + problems.length;
      setText(node, String(count));
      node.hidden = count === 0;
    });
    return { waiting: waiting.length, problems: problems.length };
  }

  function refreshViews() {
    refreshStatus();
    if (page.outboxEl) {
      renderOutbox();
    }
  }

  // --- the entry form ------------------------------------------------------------------

  function activityFields() {
    const script = document.getElementById("activity-fields");
    if (!script) {
      return null;
    }
    try {
      return JSON.parse(script.textContent);
    } catch (error) {
      return null;
    }
  }

  /** Show only the optional fields of the chosen activity; hidden ones are not sent. */
  function applyActivity(form, fields) {
    if (!fields) {
      return;
    }
    const chosen = form.querySelector("input[name=activity_type]:checked");
    const allowed = new Set(chosen ? fields[chosen.value] || [] : []);
    form.querySelectorAll("[data-entry-field]").forEach((wrapper) => {
      const show = allowed.has(wrapper.dataset.entryField);
      wrapper.hidden = !show;
      wrapper.querySelectorAll("input, select, textarea").forEach((input) => {
        input.disabled = !show;
      });
    });
  }

  function isNumberText(value) {
    return /^-?\d+$/.test(value.trim());
  }

  /** The form as a sync entry: the form's field names, lists and booleans as JSON. */
  function entryFromForm(form) {
    const data = { mediators: [], access_requests: [] };
    for (const input of form.elements) {
      const name = input.name;
      if (!name || input.disabled || name === "csrfmiddlewaretoken" || name === "version") {
        continue;
      }
      if (input.type === "submit" || input.type === "button" || input.type === "file") {
        continue;
      }
      if (input.type === "radio") {
        if (input.checked) {
          data[name] = input.value;
        } else if (!(name in data)) {
          data[name] = "";
        }
      } else if (input.type === "checkbox") {
        if (name === "mediators") {
          if (input.checked) {
            data.mediators.push(isNumberText(input.value) ? Number(input.value) : input.value);
          }
        } else {
          data[name] = input.checked;
        }
      } else if (name.startsWith("request_")) {
        const value = input.value.trim();
        if (value !== "" && value !== "0") {
          data.access_requests.push({
            theme: name.slice("request_".length),
            count: isNumberText(value) ? Number(value) : value,
          });
        }
      } else if (input.type === "number") {
        data[name] = isNumberText(input.value) ? Number(input.value) : input.value;
      } else if (input.type === "datetime-local") {
        data[name] = withOffset(input.value);
      } else {
        data[name] = input.value;
      }
    }
    return data;
  }

  function chosenLabel(form, name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    if (checked) {
      const label = checked.closest("label");
      return label ? label.textContent.trim() : checked.value;
    }
    return "";
  }

  /** Remember the labels of the form's codes, for the outbox page on this phone. */
  function rememberVocabulary(form) {
    const vocabulary = {};
    for (const input of form.querySelectorAll("select")) {
      vocabulary[input.name] = {};
      for (const option of input.options) {
        if (option.value) {
          vocabulary[input.name][option.value] = option.textContent.trim();
        }
      }
    }
    for (const input of form.querySelectorAll("input[type=radio], input[type=checkbox]")) {
      const label = input.closest("label");
      if (label && input.name !== "note_confirmed") {
        vocabulary[input.name] = vocabulary[input.name] || {};
        vocabulary[input.name][input.value] = label.textContent.trim();
      }
    }
    for (const input of form.querySelectorAll("input[name^=request_]")) {
      const label = form.querySelector(`label[for="${input.id}"]`);
      vocabulary.access_requests = vocabulary.access_requests || {};
      vocabulary.access_requests[input.name.slice("request_".length)] = label
        ? label.textContent.trim()
        : input.name;
    }
    try {
      window.localStorage.setItem(VOCABULARY_KEY, JSON.stringify(vocabulary));
    } catch (error) {
      // Private mode or full storage: the outbox shows codes instead of labels.
    }
  }

  function vocabulary() {
    try {
      return JSON.parse(window.localStorage.getItem(VOCABULARY_KEY) || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  /** Put an entry's values back into the form (a draft being fixed, or kept values). */
  function fillForm(form, data, names) {
    for (const [name, value] of Object.entries(data)) {
      if (names && !names.includes(name)) {
        continue;
      }
      if (name === "access_requests") {
        form.querySelectorAll("input[name^=request_]").forEach((input) => {
          input.value = "";
        });
        for (const item of value || []) {
          const input = form.elements[`request_${item.theme}`];
          if (input) {
            input.value = item.count;
          }
        }
        continue;
      }
      const inputs = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
      for (const input of inputs) {
        if (input.type === "radio") {
          input.checked = input.value === String(value ?? "");
        } else if (input.type === "checkbox") {
          input.checked = Array.isArray(value)
            ? value.map(String).includes(input.value)
            : Boolean(value);
        } else if (input.type === "datetime-local") {
          input.value = value ? String(value).slice(0, 16) : "";
        } else {
          input.value = value ?? "";
        }
      }
    }
  }

  function fieldWrapper(form, name) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) {
      return null;
    }
    const wrapper = input.closest(".field") || input.parentElement;
    return wrapper && !wrapper.closest("[hidden]") ? { input, wrapper } : null;
  }

  function clearErrors(form) {
    document.querySelectorAll("[data-js-error], .form-errors").forEach((node) => node.remove());
    form.querySelectorAll(".field-error").forEach((node) => node.remove());
    form.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
    form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    form.querySelectorAll("[data-error-described]").forEach((node) => {
      node.removeAttribute("aria-describedby");
      node.removeAttribute("data-error-described");
    });
  }

  /** The server's (or the page's own) messages, next to their fields, with a summary. */
  function showErrors(form, errors, message) {
    clearErrors(form);
    const general = [];
    let placed = 0;
    let first = null;
    for (const [name, messages] of Object.entries(errors || {})) {
      const list = Array.isArray(messages) ? messages : [String(messages)];
      const target = name === "_" || name === "__all__" ? null : fieldWrapper(form, name);
      if (!target) {
        const prefix = name === "_" || name === "__all__" ? "" : `${FIELD_LABELS[name] || name} : `;
        general.push(...list.map((m) => prefix + m));
        continue;
      }
      placed += 1;
      const id = `${target.input.id || `id_${name}`}-errors`;
      const error = el("p", { className: "field-error", id, "data-js-error": true }, list.join(" "));
      target.wrapper.classList.add("has-error");
      target.wrapper.append(error);
      const described = target.input.closest("fieldset.choices") || target.input;
      described.setAttribute("aria-describedby", id);
      described.setAttribute("data-error-described", "");
      form.querySelectorAll(`[name="${CSS.escape(name)}"]`).forEach((input) => {
        input.setAttribute("aria-invalid", "true");
      });
      const details = target.wrapper.closest("details");
      if (details) {
        details.open = true;
      }
      first = first || target.input;
    }
    const summary = el(
      "div",
      { className: "form-errors", role: "alert", tabindex: "-1", "data-js-error": true },
      message ? el("p", {}, message) : null,
      placed
        ? el("p", {}, placed > 1 ? `${placed} champs sont à corriger.` : "Un champ est à corriger.")
        : null,
      general.map((m) => el("p", {}, m)),
    );
    form.before(summary);
    summary.focus();
    summary.scrollIntoView({ block: "start" });
    return first;
  }

  /** What the page can tell without the server: required fields, the note's screening. */
  function localErrors(form) {
    const errors = {};
    const seen = new Set();
    for (const input of form.querySelectorAll("[required]")) {
      if (input.disabled || seen.has(input.name) || input.closest("[hidden]")) {
        continue;
      }
      seen.add(input.name);
      const empty =
        input.type === "radio" || input.type === "checkbox"
          ? !form.querySelector(`[name="${CSS.escape(input.name)}"]:checked`)
          : !input.value.trim();
      if (empty) {
        errors[input.name] = ["Ce champ est obligatoire."];
      }
    }
    const note = form.elements.note;
    const confirmed = form.elements.note_confirmed;
    if (note && window.LienScreening) {
      const findings = window.LienScreening.screen(note.value);
      if (findings.length && !(confirmed && confirmed.checked)) {
        errors.note = [...findings.map((f) => f.message), window.LienScreening.REPHRASE];
        const confirm = document.getElementById("note-confirm");
        if (confirm) {
          confirm.hidden = false;
        }
      }
    }
    return errors;
  }

  function showNotice(kind, text, link) {
    document.querySelectorAll(".notice").forEach((node) => node.remove());
    const notice = el(
      "div",
      {
        className: `notice ${kind}`,
        id: "entry-notice",
        role: kind === "error" || kind === "conflict" ? "alert" : "status",
        tabindex: "-1",
      },
      el("p", {}, text),
      link ? el("p", {}, el("a", { href: link.href }, link.text)) : null,
    );
    const anchor = page.statusEl || page.form;
    anchor.after(notice);
    notice.focus({ preventScroll: true });
    window.scrollTo({ top: 0 });
    return notice;
  }

  function setStartedNow(form) {
    const started = form.elements.started_at;
    if (started && started.type === "datetime-local") {
      started.value = localInputValue(new Date());
    }
  }

  /** Ready for the next entry: place, service and pair stay, the rest starts over. */
  function resetForNext(form, data, fields) {
    form.reset();
    fillForm(form, data, KEPT_FOR_NEXT);
    setStartedNow(form);
    applyActivity(form, fields);
    if (window.LienScreening && window.LienScreening.update) {
      window.LienScreening.update();
    }
  }

  function setupEntryForm(form) {
    const fields = activityFields();
    const editing = form.dataset.interventionId || "";
    const state = {
      // The UUID stays the same while the mediator fixes an entry the server refused.
      id: editing || null,
      baseVersion: editing ? Number(form.dataset.baseVersion) || null : null,
      created: null,
      busy: false,
    };

    form.addEventListener("change", (event) => {
      if (event.target.name === "activity_type") {
        applyActivity(form, fields);
      }
    });
    applyActivity(form, fields);
    rememberVocabulary(form);
    if (!editing && form.elements.started_at && !form.elements.started_at.value) {
      setStartedNow(form);
    }

    // A draft the outbox sent back for fixing: ?brouillon=<uuid>.
    const draftId = new URLSearchParams(window.location.search).get("brouillon");
    if (draftId) {
      outbox
        .get(draftId)
        .then((record) => {
          if (!record || !mine(record) || record.status === "sent") {
            return;
          }
          state.id = record.id;
          state.baseVersion = record.base_version ?? null;
          state.created = record.created;
          fillForm(form, record.data);
          applyActivity(form, fields);
          if (window.LienScreening && window.LienScreening.update) {
            window.LienScreening.update();
          }
          if (record.status === "invalid") {
            showErrors(form, record.errors, "Le serveur a refusé cette saisie : corrigez puis enregistrez.");
          }
        })
        .catch(() => undefined);
    }

    let storageOk = false;
    openDb().then(
      () => {
        storageOk = true;
      },
      () => {
        storageOk = false;
      },
    );

    form.addEventListener("submit", async (event) => {
      if (!storageOk) {
        return; // no IndexedDB here: the form posts to the server as without JavaScript
      }
      event.preventDefault();
      if (state.busy) {
        return;
      }
      const local = localErrors(form);
      if (Object.keys(local).length) {
        const first = showErrors(form, local);
        if (first && local.note) {
          form.elements.note.focus();
        }
        return;
      }
      state.busy = true;
      const button = form.querySelector("button[type=submit]");
      if (button) {
        button.setAttribute("aria-busy", "true");
      }
      try {
        await submitEntry(form, state, fields);
      } catch (error) {
        showNotice(
          "error",
          "Un problème est survenu pendant l'envoi. La saisie reste sur ce téléphone : vérifiez les envois en attente.",
          { href: page.outboxUrl, text: "Voir les envois en attente" },
        );
        scheduleSync(BACKOFF_FIRST_MS);
      } finally {
        state.busy = false;
        if (button) {
          button.removeAttribute("aria-busy");
        }
      }
    });
  }

  async function submitEntry(form, state, fields) {
    const data = entryFromForm(form);
    const now = Date.now();
    state.id = state.id || uuid4();
    state.created = state.created || now;
    const record = {
      id: state.id,
      owner: page.owner,
      data,
      base_version: state.baseVersion,
      status: "pending",
      errors: {},
      message: "",
      server: null,
      label: chosenLabel(form, "activity_type"),
      started_at: data.started_at || "",
      created: state.created,
      updated: now,
      attempts: 0,
    };
    try {
      await outbox.put(record);
    } catch (error) {
      showNotice(
        "error",
        "Impossible d'enregistrer sur ce téléphone (stockage plein ou bloqué). La saisie n'est pas perdue : elle est encore dans le formulaire.",
      );
      return;
    }
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(() => undefined);
    }
    clearErrors(form);
    const outcome = await syncRecords([record.id]);
    const result = outcome.results[record.id];
    const outboxLink = { href: page.outboxUrl, text: "Voir les envois en attente" };
    if (result && ["created", "updated", "already_synced"].includes(result.status)) {
      state.id = null;
      state.created = null;
      if (form.dataset.interventionId) {
        const detail = form.dataset.detailUrl;
        showNotice("success", "Correction enregistrée.");
        if (detail) {
          window.location.assign(detail);
        }
        return;
      }
      resetForNext(form, data, fields);
      showNotice("success", "Intervention enregistrée. Vous pouvez saisir la suivante.");
    } else if (result && result.status === "invalid") {
      // Same UUID on the next try: fixed and sent again, it is still one entry.
      showErrors(form, result.errors, result.message || "Le serveur a refusé cette saisie : corrigez puis enregistrez.");
    } else if (result && result.status === "conflict") {
      showNotice(
        "conflict",
        "Cette intervention a été modifiée sur le serveur pendant que vous la corrigiez : rien n'a été écrasé. Choisissez quelle version garder dans les envois.",
        { href: page.outboxUrl, text: "Résoudre le conflit" },
      );
    } else if (result && result.status === "refused") {
      showNotice("error", `Envoi refusé : ${result.message || "voir les envois"}.`, outboxLink);
    } else if (outcome.problem) {
      // Kept on the phone as "failed": nothing is lost, it can be retried from the outbox.
      resetForNext(form, data, fields);
      state.id = null;
      state.created = null;
      showNotice("error", `${outcome.problem} La saisie est gardée sur ce téléphone.`, outboxLink);
    } else {
      // Offline, or the network failed: the entry waits in the outbox.
      state.id = null;
      state.created = null;
      if (!form.dataset.interventionId) {
        resetForNext(form, data, fields);
      }
      showNotice(
        "pending",
        outcome.expired
          ? "Enregistrée sur ce téléphone. Session expirée : reconnectez-vous pour l'envoyer."
          : "Enregistrée sur ce téléphone, envoi dès que le réseau revient.",
        outboxLink,
      );
      scheduleSync(BACKOFF_FIRST_MS);
    }
  }

  // --- the outbox page -----------------------------------------------------------------

  let announcer = null;

  function announce(text) {
    if (!announcer) {
      announcer = el("p", { className: "visually-hidden", role: "status", "aria-live": "polite" });
      document.body.append(announcer);
    }
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = text;
    }, 50);
  }

  function displayValue(name, value, words) {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
      return "—";
    }
    if (name === "access_requests") {
      return value
        .map((item) => `${(words.access_requests || {})[item.theme] || item.theme} × ${item.count}`)
        .join(", ");
    }
    if (name === "started_at") {
      return formatDate(value);
    }
    if (Array.isArray(value)) {
      return value.map((v) => (words[name] || {})[String(v)] || String(v)).join(", ");
    }
    return (words[name] || {})[String(value)] || String(value);
  }

  function comparable(name, value) {
    if (value === null || value === undefined || value === "") {
      return "";
    }
    if (name === "access_requests") {
      return (value || [])
        .filter((item) => Number(item.count) > 0)
        .map((item) => `${item.theme}:${Number(item.count)}`)
        .sort()
        .join(",");
    }
    if (name === "started_at") {
      // The same instant, whatever the offsets the phone and the server wrote it with.
      const time = new Date(value).getTime();
      return Number.isNaN(time) ? String(value).slice(0, 16) : String(Math.floor(time / 60000));
    }
    if (Array.isArray(value)) {
      return value.map(String).sort().join(",");
    }
    return String(value);
  }

  function conflictTable(record, words) {
    const server = record.server || {};
    const rows = COMPARED_FIELDS.filter(
      (name) => comparable(name, server[name]) !== comparable(name, record.data[name]),
    ).map((name) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, FIELD_LABELS[name]),
        el("td", {}, displayValue(name, server[name], words)),
        el("td", {}, displayValue(name, record.data[name], words)),
      ),
    );
    if (!rows.length) {
      return el("p", {}, "Les deux versions ont les mêmes valeurs.");
    }
    return el(
      "div",
      { className: "table-scroll" },
      el(
        "table",
        { className: "conflict-table" },
        el("caption", {}, "Ce qui diffère"),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col" }, "Champ"),
            el("th", { scope: "col" }, `Serveur${record.server_version ? ` (version ${record.server_version})` : ""}`),
            el("th", { scope: "col" }, "Ma version"),
          ),
        ),
        el("tbody", {}, rows),
      ),
    );
  }

  function errorList(errors) {
    const items = [];
    for (const [name, messages] of Object.entries(errors || {})) {
      const label = FIELD_LABELS[name] || (name.startsWith("request_") ? "Demandes par thème" : name);
      for (const message of Array.isArray(messages) ? messages : [messages]) {
        items.push(el("li", {}, name === "_" || name === "__all__" ? message : `${label} : ${message}`));
      }
    }
    return items.length ? el("ul", { className: "outbox-errors" }, items) : null;
  }

  function button(text, action, id, extra) {
    return el(
      "button",
      Object.assign({ type: "button", "data-action": action, "data-id": id }, extra || {}),
      text,
    );
  }

  function outboxItem(record, words) {
    const title = record.label || displayValue("activity_type", record.data.activity_type, words);
    const badge = el(
      "span",
      { className: `status-badge status-${record.status}` },
      STATUS_LABELS[record.status] || record.status,
    );
    const when = el(
      "p",
      { className: "outbox-when" },
      `Intervention du ${formatDate(record.data.started_at)} · saisie le ${formatDate(record.created)}`,
      record.status === "sent" && record.sent_at ? ` · envoyée le ${formatDate(record.sent_at)}` : "",
    );
    const reason = record.message ? el("p", { className: "outbox-reason" }, record.message) : null;
    const actions = el("div", { className: "outbox-actions" });
    let extra = null;
    if (record.status === "conflict") {
      extra = conflictTable(record, words);
      if (record.server) {
        actions.append(
          button("Garder la version du serveur", "keep-server", record.id, { className: "secondary" }),
          button("Réappliquer ma modification", "reapply", record.id),
        );
      } else {
        actions.append(button("Supprimer", "delete", record.id, { className: "secondary outline" }));
      }
    } else if (record.status !== "sent") {
      const fixable = record.status === "invalid" && page.entryUrl && !record.base_version;
      if (fixable) {
        // Back to the entry form, filled in, with the server's messages by the fields.
        actions.append(
          el(
            "a",
            { href: `${page.entryUrl}?brouillon=${encodeURIComponent(record.id)}`, role: "button" },
            "Corriger",
          ),
        );
      }
      // Nothing while a request carries it: the server may be storing it right now.
      if (record.status !== "sending") {
        actions.append(
          button("Réessayer", "retry", record.id, fixable ? { className: "outline" } : {}),
          button("Supprimer", "delete", record.id, { className: "secondary outline" }),
        );
      }
    }
    return el(
      "li",
      { className: `outbox-item status-${record.status}`, id: `envoi-${record.id}`, "data-status": record.status },
      el("article", {},
        el("header", {}, badge, " ", el("strong", {}, title || "Intervention")),
        when,
        reason,
        errorList(record.errors),
        extra,
        actions.childNodes.length ? actions : null,
      ),
    );
  }

  const ORDER = { conflict: 0, invalid: 1, failed: 2, pending: 3, sending: 4, sent: 5 };

  let renderDeferred = false;

  async function renderOutbox() {
    const container = page.outboxEl;
    if (container.querySelector(".outbox-confirm")) {
      // A deletion is being confirmed: redraw once it is answered.
      renderDeferred = true;
      return;
    }
    renderDeferred = false;
    let records;
    try {
      records = await outbox.all();
    } catch (error) {
      container.replaceChildren(
        el("p", { className: "notice error" }, "La boîte d'envoi de ce téléphone est inaccessible (stockage bloqué ou navigation privée)."),
      );
      return;
    }
    const others = records.filter((r) => !mine(r) && OPEN.includes(r.status)).length;
    records = records.filter(mine);
    records.sort(
      (a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || b.created - a.created,
    );
    const words = vocabulary();
    // Keep the focus where it was across a redraw (a button of the same entry).
    const focused = document.activeElement;
    const focusKey =
      focused && container.contains(focused) && focused.dataset.id
        ? `${focused.dataset.action}|${focused.dataset.id}`
        : null;
    const nodes = [];
    if (!records.length) {
      nodes.push(el("p", { className: "outbox-empty" }, "Aucune saisie en attente sur ce téléphone."));
    } else {
      nodes.push(el("ul", { className: "outbox-list" }, records.map((r) => outboxItem(r, words))));
      nodes.push(
        el("p", { className: "outbox-note" }, `Les saisies envoyées restent affichées ${SENT_KEPT_DAYS} jours, puis sont effacées de ce téléphone.`),
      );
    }
    if (others) {
      nodes.push(
        el(
          "p",
          { className: "notice pending" },
          `${plural(others, "saisie faite", "saisies faites")} avec un autre compte ou rattachement ${others > 1 ? "attendent" : "attend"} sur ce téléphone : connectez-vous avec ce compte pour ${others > 1 ? "les" : "l'"}envoyer.`,
        ),
      );
    }
    container.replaceChildren(...nodes);
    if (focusKey) {
      const [action, id] = focusKey.split("|");
      const again = container.querySelector(`[data-action="${action}"][data-id="${CSS.escape(id)}"]`);
      const fallback =
        container.querySelector(`#envoi-${CSS.escape(id)} button`) ||
        document.getElementById("outbox-retry");
      (again || fallback)?.focus();
    }
  }

  async function retry(ids) {
    for (const id of ids) {
      await outbox.update(id, { status: "pending", message: "" });
    }
    if (navigator.onLine === false) {
      announce("Hors ligne : l'envoi se fera au retour du réseau.");
      refreshViews();
      return;
    }
    const outcome = await syncRecords(ids);
    const sent = Object.values(outcome.results).filter((r) =>
      ["created", "updated", "already_synced"].includes(r.status),
    ).length;
    if (outcome.network) {
      announce("Pas de réseau : les saisies restent en attente sur ce téléphone.");
      scheduleSync(BACKOFF_FIRST_MS);
    } else if (outcome.problem) {
      announce(outcome.problem);
    } else {
      announce(`${plural(sent, "saisie envoyée", "saisies envoyées")} sur ${ids.length}.`);
    }
  }

  function askDelete(target) {
    const id = target.dataset.id;
    const actions = target.closest(".outbox-actions");
    const question = el(
      "div",
      { className: "outbox-confirm", role: "group", "aria-label": "Confirmer la suppression" },
      el("p", {}, "Supprimer définitivement cette saisie de ce téléphone ? Elle n'a pas été envoyée."),
      button("Oui, supprimer", "confirm-delete", id, { className: "danger" }),
      button("Annuler", "cancel-delete", id, { className: "secondary outline" }),
    );
    actions.hidden = true;
    actions.after(question);
    question.querySelector("[data-action=cancel-delete]").focus();
  }

  async function onOutboxClick(event) {
    const target = event.target.closest("button[data-action]");
    if (!target || !page.outboxEl.contains(target)) {
      return;
    }
    const id = target.dataset.id;
    const record = await outbox.get(id);
    if (!record) {
      refreshViews();
      return;
    }
    switch (target.dataset.action) {
      case "retry":
        await retry([id]);
        break;
      case "delete":
        askDelete(target);
        break;
      case "cancel-delete": {
        const question = target.closest(".outbox-confirm");
        const actions = question.previousElementSibling;
        question.remove();
        actions.hidden = false;
        actions.querySelector("[data-action=delete]")?.focus();
        if (renderDeferred) {
          refreshViews();
        }
        break;
      }
      case "confirm-delete":
        target.closest(".outbox-confirm").remove();
        if (record.status !== "sent") {
          await outbox.remove(id);
          announce("Saisie supprimée de ce téléphone.");
        }
        refreshViews();
        (page.outboxEl.querySelector("button, a") || document.getElementById("outbox-retry"))?.focus();
        break;
      case "keep-server":
        // The server's version stands; the local edit is dropped, at the user's request.
        await outbox.remove(id);
        announce("Version du serveur gardée ; votre modification est abandonnée.");
        refreshViews();
        break;
      case "reapply":
        // Sent again on top of the server's current version: a deliberate choice.
        await outbox.update(id, {
          status: "pending",
          base_version: record.server_version ?? (record.server && record.server.version) ?? null,
          server: null,
          message: "",
        });
        await retry([id]);
        break;
      default:
        break;
    }
  }

  function setupOutboxPage() {
    page.outboxEl.removeAttribute("aria-live");
    page.outboxEl.addEventListener("click", onOutboxClick);
    const retryAll = document.getElementById("outbox-retry");
    if (retryAll) {
      retryAll.addEventListener("click", async () => {
        const ids = (await outbox.all())
          .filter((r) => mine(r) && ["pending", "failed", "invalid", "sending"].includes(r.status))
          .map((r) => r.id);
        if (!ids.length) {
          announce("Rien à envoyer.");
          return;
        }
        await retry(ids);
      });
    }
  }

  // --- start ---------------------------------------------------------------------------

  function registerServiceWorker() {
    if ("serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
    }
  }

  async function start() {
    readPage();
    if (page.form) {
      setupEntryForm(page.form);
    }
    if (page.outboxEl) {
      setupOutboxPage();
    }
    registerServiceWorker();
    window.addEventListener("online", () => {
      auto.failures = 0;
      refreshStatus();
      autoSync();
    });
    window.addEventListener("offline", () => refreshStatus());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && navigator.onLine !== false) {
        autoSync();
      }
    });
    try {
      await openDb();
      await prune();
    } catch (error) {
      if (page.statusEl) {
        page.statusEl.textContent =
          "Ce navigateur ne peut pas garder de saisies hors ligne : elles partent directement au serveur.";
      }
      if (page.outboxEl) {
        renderOutbox();
      }
      return;
    }
    refreshViews();
    autoSync();
  }

  // For the tests and for support: the outbox as the page sees it.
  window.LienOutbox = { outbox, sync: () => autoSync(), syncRecords, uuid4, entryFromForm };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
