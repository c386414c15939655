// How the page talks to netlookup: Socket.IO for streaming lookups and change events, HTTP when the socket is
// down. Views never call these; main.ts does, and results go to the store.
import { io, type Socket } from "socket.io-client";

import type {
  Category,
  ClientToServerEvents,
  DataChanged,
  ImportProgress,
  ImportResult,
  LookupPayload,
  LookupResponse,
  RowError,
  ServerToClientEvents,
  SourceInfo,
} from "./events";
import type { Store } from "./store";

type LookupSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type LookupEvent =
  | { kind: "partial"; category: Category; result: LookupResponse["results"][Category] }
  | { kind: "done"; query: string; took_ms: number }
  | { kind: "error"; detail: unknown };

/** What to tell a person whose reads need a key (or whose key was refused). */
export function keyMessage(reason: string): string {
  return /failed|not valid/.test(reason)
    ? `The API key was refused (${reason}): enter a valid key below.`
    : "This netlookup needs an API key to read: enter it below.";
}

/** A 422's detail in its own words: a string, or FastAPI's list of {loc, msg}. */
export function detailText(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item: { loc?: unknown[]; msg?: string }) => `${(item.loc ?? []).slice(-1).join(".")}: ${item.msg ?? ""}`)
      .join("; ");
  }
  return JSON.stringify(detail);
}

function queryString(payload: LookupPayload): string {
  const params = new URLSearchParams({ q: payload.q });
  if (payload.categories) params.set("categories", payload.categories.join(","));
  if (payload.mode) params.set("mode", payload.mode);
  if (payload.best) params.set("best", "true");
  if (payload.limit !== undefined) params.set("limit", String(payload.limit));
  if (payload.port !== undefined) params.set("port", String(payload.port));
  if (payload.protocol !== undefined) params.set("protocol", payload.protocol);
  return params.toString();
}

export class Protocol {
  private readonly socket: LookupSocket;
  private current: string | null = null; // the request id whose events the page shows
  private early = new Map<string, LookupEvent[]>(); // events that arrived before their ack
  private generation = 0;
  onChange: ((change: DataChanged) => void) | null = null;

  constructor(private readonly store: Store) {
    this.socket = io({
      path: "/socket.io",
      // Read each time it connects: a key entered later is used on the next attempt.
      auth: (send) => send(apiKey.get() ? { token: apiKey.get() } : {}),
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      timeout: 3000,
      reconnectionDelayMax: 5000,
    });
    // Not connected soon: say so, and answer over HTTP meanwhile (the client keeps reconnecting by itself).
    window.setTimeout(() => {
      if (!this.socket.connected) store.update({ transport: "http" });
    }, 2000);
    this.socket.on("connect", () => {
      store.update({ transport: "socket" });
      this.socket.emit("subscribe", { categories: [...store.state.form.categories], imports: true }, () => {});
    });
    this.socket.on("disconnect", () => store.update({ transport: "http" }));
    this.socket.on("connect_error", (error) => {
      const refused = /authentication/.test(error.message);
      store.update({ transport: "http", keyProblem: refused ? keyMessage(error.message) : store.state.keyProblem });
    });
    this.socket.on("lookup:partial", (d) => this.route(d.request_id, { kind: "partial", category: d.category, result: d.result }));
    this.socket.on("lookup:done", (d) => this.route(d.request_id, { kind: "done", query: d.query, took_ms: d.took_ms }));
    this.socket.on("lookup:error", (d) => this.route(d.request_id, { kind: "error", detail: d.detail }));
    this.socket.on("data:changed", (change) => this.onChange?.(change));
    this.socket.on("import:progress", (progress) => this.onImportProgress?.(progress));
  }

  onImportProgress: ((progress: ImportProgress) => void) | null = null;

  /** Connect again (after a key was entered). */
  reconnect(): void {
    this.socket.disconnect().connect();
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Run a lookup: streamed over the socket when connected, else one HTTP request. */
  lookup(payload: LookupPayload, categories: Category[]): void {
    this.generation += 1;
    // Timings a person can read in the browser (performance.getEntriesByType("measure")) and bench/ measures.
    performance.clearMarks();
    performance.clearMeasures();
    performance.mark("netlookup:start");
    this.firstPartial = true;
    this.store.startLookup(categories);
    if (!this.socket.connected) {
      void this.overHttp(payload, this.generation);
      return;
    }
    this.current = null;
    const generation = this.generation;
    this.socket.emit("lookup", payload, (reply) => {
      if (generation !== this.generation) return; // a newer lookup started meanwhile
      this.current = reply.request_id;
      for (const event of this.early.get(reply.request_id) ?? []) this.apply(event);
      this.early.clear();
    });
  }

  private route(requestId: string, event: LookupEvent): void {
    if (requestId === this.current) {
      this.apply(event);
    } else if (this.current === null) {
      this.early.set(requestId, [...(this.early.get(requestId) ?? []), event]);
    }
  }

  private firstPartial = true;

  private apply(event: LookupEvent): void {
    if (event.kind === "partial" && event.result) {
      this.store.categoryDone(event.category, event.result);
      if (this.firstPartial) performance.measure("netlookup:first-partial", "netlookup:start");
      this.firstPartial = false;
    }
    if (event.kind === "done") {
      this.store.lookupDone(event.query, event.took_ms);
      performance.measure("netlookup:done", "netlookup:start");
    }
    if (event.kind === "error") this.store.lookupFailed(detailText(event.detail));
  }

  private async overHttp(payload: LookupPayload, generation: number): Promise<void> {
    const got = await answer<LookupResponse>(
      fetch(`/api/v1/lookup?${queryString(payload)}`, { headers: authorised(apiKey.get()) }),
    );
    if (generation !== this.generation) return;
    if (!got.ok) {
      if (got.status === 401 || got.status === 403) this.store.update({ keyProblem: keyMessage(detailText(got.detail)) });
      this.store.lookupFailed(detailText(got.detail));
      return;
    }
    for (const [category, result] of Object.entries(got.value.results)) {
      if (result) this.store.categoryDone(category as Category, result);
    }
    this.store.lookupDone(got.value.query, got.value.took_ms);
  }

}

const KEY_STORAGE = "netlookup.apiKey";

/** The API key for writes: kept for this tab only (sessionStorage), never in the URL. */
export const apiKey = {
  get: (): string => window.sessionStorage.getItem(KEY_STORAGE) ?? "",
  set: (key: string): void => window.sessionStorage.setItem(KEY_STORAGE, key),
};

function authorised(key: string): HeadersInit {
  return key ? { Authorization: `Bearer ${key}`, Accept: "application/json" } : { Accept: "application/json" };
}

export type Answer<T> = { ok: true; value: T } | { ok: false; status: number; detail: unknown };

async function answer<T>(response: Promise<Response>): Promise<Answer<T>> {
  try {
    const got = await response;
    const body = (await got.json()) as T | { detail: unknown };
    if (got.ok) return { ok: true, value: body as T };
    return { ok: false, status: got.status, detail: (body as { detail: unknown }).detail };
  } catch (error) {
    return { ok: false, status: 0, detail: `netlookup is unreachable: ${String(error)}` };
  }
}

/** Many lookups in one request (POST /api/v1/lookup/batch). */
export function batch(queries: string[]): Promise<Answer<{ results: LookupResponse[] }>> {
  const body = JSON.stringify({ queries });
  const headers = { ...authorised(apiKey.get()), "Content-Type": "application/json" };
  return answer(fetch("/api/v1/lookup/batch", { method: "POST", headers, body }));
}

export function listSources(): Promise<Answer<SourceInfo[]>> {
  return answer(fetch("/api/v1/sources", { headers: authorised(apiKey.get()) }));
}

export function deleteSource(category: Category, source: string): Promise<Answer<{ removed: number }>> {
  const path = `/api/v1/sources/${category}/${source.split("/").map(encodeURIComponent).join("/")}`;
  return answer(fetch(path, { method: "DELETE", headers: authorised(apiKey.get()) }));
}

export interface ImportRequest {
  category: Category;
  source: string;
  format: string;
  files: File[];
  skip: boolean;
}

export type ImportRejection = { message: string; error_count: number; errors: RowError[] };

/** Upload files as one import (multipart ``file`` fields, read in order as one file). */
export function importFiles(request: ImportRequest): Promise<Answer<ImportResult>> {
  const params = new URLSearchParams({ source: request.source });
  if (request.format) params.set("format", request.format);
  if (request.skip) params.set("on_error", "skip");
  const form = new FormData();
  for (const file of request.files) form.append("file", file, file.name);
  const headers = authorised(apiKey.get());
  return answer(fetch(`/api/v1/import/${request.category}?${params.toString()}`, { method: "POST", headers, body: form }));
}
