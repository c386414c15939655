// How the page talks to netlookup: Socket.IO for streaming lookups and change events, HTTP when the socket is
// down. Views never call these; main.ts does, and results go to the store.
import { io, type Socket } from "socket.io-client";

import type {
  Category,
  ClientToServerEvents,
  DataChanged,
  LookupPayload,
  LookupResponse,
  ServerToClientEvents,
} from "./events";
import type { Store } from "./store";

type LookupSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type LookupEvent =
  | { kind: "partial"; category: Category; result: LookupResponse["results"][Category] }
  | { kind: "done"; query: string; took_ms: number }
  | { kind: "error"; detail: unknown };

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
    this.socket.on("connect_error", () => store.update({ transport: "http" }));
    this.socket.on("lookup:partial", (d) => this.route(d.request_id, { kind: "partial", category: d.category, result: d.result }));
    this.socket.on("lookup:done", (d) => this.route(d.request_id, { kind: "done", query: d.query, took_ms: d.took_ms }));
    this.socket.on("lookup:error", (d) => this.route(d.request_id, { kind: "error", detail: d.detail }));
    this.socket.on("data:changed", (change) => this.onChange?.(change));
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Run a lookup: streamed over the socket when connected, else one HTTP request. */
  lookup(payload: LookupPayload, categories: Category[]): void {
    this.generation += 1;
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

  private apply(event: LookupEvent): void {
    if (event.kind === "partial" && event.result) this.store.categoryDone(event.category, event.result);
    if (event.kind === "done") this.store.lookupDone(event.query, event.took_ms);
    if (event.kind === "error") this.store.lookupFailed(detailText(event.detail));
  }

  private async overHttp(payload: LookupPayload, generation: number): Promise<void> {
    try {
      const response = await fetch(`/api/v1/lookup?${queryString(payload)}`, { headers: { Accept: "application/json" } });
      const body = (await response.json()) as LookupResponse | { detail: unknown };
      if (generation !== this.generation) return;
      if (!response.ok || !("results" in body)) {
        this.store.lookupFailed("detail" in body ? detailText(body.detail) : `HTTP ${response.status}`);
        return;
      }
      for (const [category, result] of Object.entries(body.results)) {
        if (result) this.store.categoryDone(category as Category, result);
      }
      this.store.lookupDone(body.query, body.took_ms);
    } catch (error) {
      if (generation === this.generation) this.store.lookupFailed(`netlookup is unreachable: ${String(error)}`);
    }
  }
}
