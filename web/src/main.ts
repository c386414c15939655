// Wires the page: the search form and the URL (shareable state) → the protocol → the store → the views.
import "./style.css";

import { CATEGORIES, type Category, type LookupPayload, type Mode } from "./events";
import { Protocol } from "./protocol";
import { DEFAULT_FORM, type SearchForm, type State, Store } from "./store";
import { checkLimit, checkPort, checkProtocol, checkQuery } from "./validate";
import { renderResults } from "./views/results";

const store = new Store();
const protocol = new Protocol(store);

const form = document.querySelector<HTMLFormElement>("#search")!;
const input = (name: string): HTMLInputElement => form.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
const modeSelect = form.querySelector<HTMLSelectElement>('[name="mode"]')!;
const results = document.querySelector<HTMLElement>("#results")!;
const banner = document.querySelector<HTMLElement>("#changes")!;
const transport = document.querySelector<HTMLElement>("#transport")!;

function readForm(): SearchForm {
  return {
    q: input("q").value,
    mode: modeSelect.value as Mode,
    best: input("best").checked,
    port: input("port").value,
    protocol: input("protocol").value,
    limit: input("limit").value,
    categories: CATEGORIES.filter((category) => input(`category-${category}`).checked),
  };
}

function writeForm(values: SearchForm): void {
  input("q").value = values.q;
  modeSelect.value = values.mode;
  input("best").checked = values.best;
  input("port").value = values.port;
  input("protocol").value = values.protocol;
  input("limit").value = values.limit;
  for (const category of CATEGORIES) input(`category-${category}`).checked = values.categories.includes(category);
}

function formFromUrl(): SearchForm {
  const params = new URLSearchParams(window.location.search);
  const mode = params.get("mode");
  const categories = (params.get("categories") ?? "").split(",").filter((c): c is Category => CATEGORIES.includes(c as Category));
  return {
    q: params.get("q") ?? "",
    mode: mode === "within" || mode === "overlap" ? mode : "covering",
    best: params.get("best") === "true",
    port: params.get("port") ?? "",
    protocol: params.get("protocol") ?? "",
    limit: params.get("limit") ?? "",
    categories: categories.length ? categories : [...CATEGORIES],
  };
}

function urlOf(values: SearchForm): string {
  const params = new URLSearchParams({ q: values.q.trim() });
  if (values.mode !== DEFAULT_FORM.mode) params.set("mode", values.mode);
  if (values.best) params.set("best", "true");
  if (values.port.trim()) params.set("port", values.port.trim());
  if (values.protocol) params.set("protocol", values.protocol);
  if (values.limit.trim()) params.set("limit", values.limit.trim());
  if (values.categories.length !== CATEGORIES.length) params.set("categories", values.categories.join(","));
  return `/?${params.toString()}`;
}

/** The lookup the form asks for, or the errors that keep it from being sent. */
function validated(values: SearchForm): { payload: LookupPayload | null; errors: State["formErrors"] } {
  const errors: State["formErrors"] = {};
  const q = checkQuery(values.q);
  const port = checkPort(values.port);
  const proto = checkProtocol(values.protocol);
  const limit = checkLimit(values.limit);
  if (!q.ok) errors.q = q.error;
  if (!port.ok) errors.port = port.error;
  if (!proto.ok) errors.protocol = proto.error;
  if (!limit.ok) errors.limit = limit.error;
  if (values.categories.length === 0) errors.categories = "choose at least one category";
  if (!q.ok || !port.ok || !proto.ok || !limit.ok || values.categories.length === 0) return { payload: null, errors };
  const payload: LookupPayload = { q: q.value, categories: values.categories, mode: values.mode, best: values.best };
  if (limit.value !== null) payload.limit = limit.value;
  if (port.value !== null) payload.port = port.value;
  if (proto.value !== null) payload.protocol = proto.value;
  return { payload, errors };
}

function run(values: SearchForm, limitOverride?: number): void {
  const { payload, errors } = validated(values);
  store.update({ form: values, formErrors: errors });
  if (!payload) return;
  if (limitOverride !== undefined) payload.limit = limitOverride;
  protocol.lookup(payload, values.categories);
}

function showErrors(state: State): void {
  for (const name of ["q", "port", "protocol", "limit", "categories"] as const) {
    const slot = document.querySelector<HTMLElement>(`#error-${name}`)!;
    const message = name === "q" ? (state.formErrors.q ?? state.error ?? "") : (state.formErrors[name] ?? "");
    slot.textContent = message;
    const control = name === "categories" ? null : input(name);
    control?.setAttribute("aria-invalid", String(Boolean(state.formErrors[name])));
  }
}

function showChanges(state: State): void {
  banner.hidden = state.changes.length === 0;
  const lines = state.changes.map((c) => `${c.category}: ${c.source} ${c.checksum === null ? "deleted" : "changed"}, +${c.added} −${c.removed}`);
  banner.querySelector("p")!.textContent = lines.join("; ");
}

store.subscribe((state) => {
  renderResults(results, state, store, (category) => {
    const current = state.panels[category].result?.matches.length ?? 100;
    run(state.form, Math.min(1000, Math.max(current * 2, 200)));
  });
  showErrors(state);
  showChanges(state);
  transport.textContent =
    state.transport === "socket"
      ? "Live (Socket.IO)"
      : state.transport === "http"
        ? "Live updates unavailable: answering over HTTP, reconnecting"
        : "Connecting…";
  transport.dataset.state = state.transport;
});

protocol.onChange = (change) => {
  if (!store.state.form.categories.includes(change.category)) return;
  store.update({ changes: [...store.state.changes, change].slice(-5) });
};

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const values = readForm();
  if (validated(values).payload) window.history.pushState(null, "", urlOf(values));
  run(values);
});

input("q").addEventListener("input", () => {
  // Flagged as you type, by the same rules as the server; an empty box is not an error yet.
  const check = checkQuery(input("q").value);
  const { q: _previous, ...others } = store.state.formErrors;
  const formErrors = check.ok || input("q").value === "" ? others : { ...others, q: check.error };
  store.update({ formErrors, error: null });
});

banner.querySelector("button")!.addEventListener("click", () => {
  store.update({ changes: [] });
  run(readForm());
});

window.addEventListener("popstate", () => {
  const values = formFromUrl();
  writeForm(values);
  if (values.q) run(values);
});

document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement;
  if (event.key === "/" && !["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) {
    event.preventDefault();
    input("q").focus();
  }
});

const initial = formFromUrl();
writeForm(initial);
store.update({ form: initial });
if (initial.q) {
  // Give the socket a moment to connect so the first answer streams; answer over HTTP otherwise.
  const started = performance.now();
  const waitForSocket = (): void => {
    if (protocol.connected || performance.now() - started > 1500) run(initial);
    else window.setTimeout(waitForSocket, 25);
  };
  waitForSocket();
}
