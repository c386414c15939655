// The Socket.IO events of netlookup (README, "Socket.IO"), declared once: a renamed event breaks the build.

export type Category = "acl" | "sg" | "lb" | "f5";
export const CATEGORIES: readonly Category[] = ["acl", "sg", "lb", "f5"];
export type Mode = "covering" | "within" | "overlap";

export interface LookupOptions {
  categories: Category[];
  mode: Mode;
  best: boolean;
  limit: number;
  port: number | null;
  protocol: string | null;
}

export interface LookupPayload extends Partial<Omit<LookupOptions, "port" | "protocol">> {
  q: string;
  port?: number;
  protocol?: string;
}

export type Match = Record<string, unknown> & { id: number; source: string; prefix_len: number };

export interface CategoryResult {
  total: number;
  truncated: boolean;
  matches: Match[];
}

export interface LookupResponse {
  query: string;
  results: Partial<Record<Category, CategoryResult>>;
  took_ms: number;
}

export interface DataChanged {
  category: Category;
  source: string;
  added: number;
  removed: number;
  checksum: string | null;
  skipped?: number;
}

export interface SourceInfo {
  category: Category;
  source: string;
  count: number;
  imported_at: string;
  checksum: string;
}

export interface ImportResult {
  job_id: string;
  category: Category;
  source: string;
  count: number;
  added: number;
  removed: number;
  checksum: string;
  took_ms: number;
  unmapped?: { count: number; by_kind: Record<string, number>; sample: Record<string, unknown>[] };
  skipped?: { count: number; rows: RowError[] };
}

export interface RowError {
  line: number;
  field: string | null;
  reason: string;
  path?: string | null;
  text?: string | null;
}

export interface ImportProgress {
  job_id: string;
  category: Category;
  source: string;
  rows_done: number;
}

export interface ServerToClientEvents {
  "import:progress": (data: ImportProgress) => void;
  "lookup:partial": (data: { request_id: string; category: Category; result: CategoryResult }) => void;
  "lookup:done": (data: { request_id: string; query: string; took_ms: number }) => void;
  "lookup:error": (data: { request_id: string; detail: unknown }) => void;
  "data:changed": (data: DataChanged) => void;
  resync: (data: { reason: string }) => void;
  error: (data: { detail: string }) => void;
}

export interface ClientToServerEvents {
  lookup: (payload: LookupPayload, ack: (reply: { request_id: string }) => void) => void;
  subscribe: (
    payload: { categories: Category[]; imports: boolean },
    ack: (reply: { ok?: boolean; rooms?: string[]; error?: string }) => void,
  ) => void;
}
