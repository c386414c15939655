// Wires the page: the search form and the URL (shareable state) → the protocol → the store → the views.
import "./style.css";

import { CATEGORIES, type Category, type LookupPayload, type Mode } from "./events";
import { apiKey, batch, deleteSource, detailText, importFiles, listSources, Protocol, type ImportRejection } from "./protocol";
import { DEFAULT_FORM, type SearchForm, type State, Store, type View } from "./store";
import { checkLimit, checkPort, checkProtocol, checkQuery, splitQueries } from "./validate";
import { renderBulk } from "./views/bulk";
import { download, toCsv } from "./views/downloads";
import { renderImport } from "./views/importer";
import { renderResults } from "./views/results";
import { renderSources } from "./views/sources";

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
  const lines = state.changes.map((c) => `${c.category}: ${c.source} ${c.checksum === null ? "deleted" : "changed"}, +${c.added} −${c.removed}${c.skipped ? `, ${c.skipped} skipped` : ""}`);
  banner.querySelector("p")!.textContent = lines.join("; ");
}

const VIEWS: View[] = ["lookup", "bulk", "sources", "import"];

function showView(state: State): void {
  for (const view of VIEWS) {
    document.querySelector<HTMLElement>(`#view-${view}`)!.hidden = state.view !== view;
    document.querySelector<HTMLElement>(`nav [data-view="${view}"]`)!.setAttribute("aria-pressed", String(state.view === view));
  }
}

// The views of slices that did not change are left as they are (a lookup's partials, an import's progress and
// every keystroke update the store; 50 expanded bulk answers need not be drawn again for them).
let drawn: Pick<State, "bulk" | "sources" | "importing"> | null = null;

store.subscribe((state) => {
  showView(state);
  if (state.bulk !== drawn?.bulk) renderBulk(document.querySelector<HTMLElement>("#bulk-results")!, state);
  if (state.sources !== drawn?.sources) {
    renderSources(document.querySelector<HTMLElement>("#sources-list")!, state, (category, source) => void removeSource(category, source));
  }
  if (state.importing !== drawn?.importing) renderImport(document.querySelector<HTMLElement>("#import-status")!, state);
  drawn = { bulk: state.bulk, sources: state.sources, importing: state.importing };
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
  const keyNotice = document.querySelector<HTMLElement>("#key-problem")!;
  keyNotice.textContent = state.keyProblem ?? "";
  keyNotice.hidden = state.keyProblem === null;
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

// Views: Lookup, Many addresses, Sources, Import.
for (const button of document.querySelectorAll<HTMLButtonElement>("nav [data-view]")) {
  button.addEventListener("click", () => {
    const view = button.dataset.view as View;
    store.update({ view });
    if (view === "sources") void refreshSources();
  });
}

// Downloads of the current answer.
document.querySelector("#lookup-json")!.addEventListener("click", () => {
  const response = store.state.response;
  if (response) download(`netlookup-${response.query.replace("/", "_")}.json`, JSON.stringify(response, null, 2), "application/json");
});
document.querySelector("#lookup-csv")!.addEventListener("click", () => {
  const response = store.state.response;
  if (response) download(`netlookup-${response.query.replace("/", "_")}.csv`, toCsv([response]), "text/csv");
});

// Many addresses: one batch request; a bad line is pointed at before anything is sent.
const bulkForm = document.querySelector<HTMLFormElement>("#bulk")!;
bulkForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void runBulk(bulkForm.querySelector<HTMLTextAreaElement>("textarea")!.value);
});

async function runBulk(text: string): Promise<void> {
  const queries = splitQueries(text);
  const slot = document.querySelector<HTMLElement>("#error-bulk")!;
  const bad = queries.map((q, index) => ({ index, check: checkQuery(q) })).find((item) => !item.check.ok);
  if (queries.length === 0 || queries.length > 1000 || bad) {
    slot.textContent =
      queries.length === 0
        ? "paste at least one address"
        : queries.length > 1000
          ? `${queries.length} addresses: at most 1000 in one lookup`
          : `address ${bad!.index + 1} (${queries[bad!.index]}): ${bad!.check.ok ? "" : bad!.check.error}`;
    return;
  }
  slot.textContent = "";
  store.update({ bulk: { busy: true, error: null, responses: [] } });
  const answer = await batch(queries);
  store.update({
    bulk: answer.ok
      ? { busy: false, error: null, responses: answer.value.results }
      : { busy: false, error: detailText(answer.detail), responses: [] },
  });
}

document.querySelector("#bulk-json")!.addEventListener("click", () => {
  const { responses } = store.state.bulk;
  if (responses.length) download("netlookup-batch.json", JSON.stringify({ results: responses }, null, 2), "application/json");
});
document.querySelector("#bulk-csv")!.addEventListener("click", () => {
  const { responses } = store.state.bulk;
  if (responses.length) download("netlookup-batch.csv", toCsv(responses), "text/csv");
});

// The API key: for writes, kept in sessionStorage for this tab.
const keyInput = document.querySelector<HTMLInputElement>("#api-key")!;
keyInput.value = apiKey.get();
keyInput.addEventListener("change", () => {
  apiKey.set(keyInput.value.trim());
  store.update({ keyProblem: null });
  protocol.reconnect();
});

function authProblem(status: number, detail: unknown): string {
  if (status === 401) return "An API key is needed: enter it below.";
  if (status === 403) return `The API key was refused: ${detailText(detail)}`;
  return detailText(detail);
}

async function refreshSources(message: string | null = null): Promise<void> {
  store.update({ sources: { ...store.state.sources, busy: true, error: null, message } });
  const answer = await listSources();
  store.update({
    sources: answer.ok
      ? { busy: false, error: null, message, rows: answer.value }
      : { busy: false, error: authProblem(answer.status, answer.detail), message, rows: [] },
  });
}

document.querySelector("#sources-refresh")!.addEventListener("click", () => void refreshSources());

async function removeSource(category: Category, source: string): Promise<void> {
  if (!window.confirm(`Delete every ${category} record of ${source}? This cannot be undone.`)) return;
  if (!apiKey.get()) {
    store.update({ sources: { ...store.state.sources, error: "Deleting needs an API key: enter it below." } });
    keyInput.focus();
    return;
  }
  const answer = await deleteSource(category, source);
  if (!answer.ok) {
    store.update({ sources: { ...store.state.sources, error: authProblem(answer.status, answer.detail) } });
    return;
  }
  await refreshSources(`Deleted ${category}/${source}: ${answer.value.removed} records.`);
}

// Import: several files read as one; progress from import:progress, then the result or the rows that refused it.
const importForm = document.querySelector<HTMLFormElement>("#import")!;
let importing: { category: string; source: string } | null = null;
protocol.onImportProgress = (progress) => {
  if (importing && progress.category === importing.category && progress.source === importing.source) {
    store.update({ importing: { ...store.state.importing, rowsDone: progress.rows_done } });
  }
};

importForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void runImport();
});

async function runImport(): Promise<void> {
  const field = <T extends HTMLElement>(name: string): T => importForm.querySelector<T>(`[name="${name}"]`)!;
  const files = [...(field<HTMLInputElement>("files").files ?? [])];
  const category = field<HTMLSelectElement>("category").value as Category;
  const source = field<HTMLInputElement>("source").value.trim();
  const format = field<HTMLSelectElement>("format").value;
  const skip = field<HTMLInputElement>("skip").checked;
  const slot = document.querySelector<HTMLElement>("#error-import")!;
  slot.textContent = files.length === 0 ? "choose at least one file" : source === "" ? "name the source" : !apiKey.get() ? "imports need an API key: enter it below" : "";
  if (slot.textContent) return;
  importing = { category, source };
  store.update({ importing: { busy: true, rowsDone: null, result: null, error: null, rowErrors: [], errorCount: 0 } });
  const answer = await importFiles({ category, source, format, files, skip });
  importing = null;
  if (answer.ok) {
    store.update({ importing: { busy: false, rowsDone: null, result: answer.value, error: null, rowErrors: [], errorCount: 0 } });
    return;
  }
  const rejection = answer.detail as Partial<ImportRejection>;
  const rows = Array.isArray(rejection.errors) ? rejection.errors : [];
  const error = rows.length
    ? (rejection.message ?? "the import was refused")
    : `${authProblem(answer.status, answer.detail)} Nothing was changed.`;
  const errorCount = rejection.error_count ?? rows.length;
  store.update({ importing: { busy: false, rowsDone: null, result: null, error, rowErrors: rows, errorCount } });
}

const initialView = new URLSearchParams(window.location.search).get("view");
if (initialView && VIEWS.includes(initialView as View)) {
  store.update({ view: initialView as View });
  if (initialView === "sources") void refreshSources();
}
