// The page's state, in one place: views render from it, the protocol module writes to it.
import {
  CATEGORIES,
  type Category,
  type CategoryResult,
  type DataChanged,
  type ImportResult,
  type LookupResponse,
  type Mode,
  type RowError,
  type SourceInfo,
} from "./events";

export interface SearchForm {
  q: string;
  mode: Mode;
  best: boolean;
  port: string;
  protocol: string;
  limit: string;
  categories: Category[];
}

export type PanelStatus = "idle" | "loading" | "done" | "failed";

export interface Panel {
  status: PanelStatus;
  result: CategoryResult | null;
  sortKey: string | null;
  sortDescending: boolean;
}

export type Transport = "connecting" | "socket" | "http";
export type View = "lookup" | "bulk" | "sources" | "import";

export interface Bulk {
  busy: boolean;
  error: string | null;
  responses: LookupResponse[];
}

export interface Sources {
  busy: boolean;
  error: string | null;
  message: string | null;
  rows: SourceInfo[];
}

export interface Import {
  busy: boolean;
  rowsDone: number | null;
  result: ImportResult | null;
  error: string | null;
  rowErrors: RowError[];
  errorCount: number;
}

export interface State {
  form: SearchForm;
  formErrors: Partial<Record<keyof SearchForm, string>>;
  query: string | null;
  tookMs: number | null;
  error: string | null;
  panels: Record<Category, Panel>;
  transport: Transport;
  changes: DataChanged[];
  view: View;
  bulk: Bulk;
  sources: Sources;
  importing: Import;
  response: LookupResponse | null;
  // Set when netlookup asks for a key to read (NETLOOKUP_READ_AUTH) or refused the one given.
  keyProblem: string | null;
}

export const DEFAULT_FORM: SearchForm = {
  q: "",
  mode: "covering",
  best: false,
  port: "",
  protocol: "",
  limit: "",
  categories: [...CATEGORIES],
};

function emptyPanels(status: PanelStatus): Record<Category, Panel> {
  const panel = (): Panel => ({ status, result: null, sortKey: null, sortDescending: false });
  return { acl: panel(), sg: panel(), lb: panel(), f5: panel() };
}

type Listener = (state: State) => void;

export class Store {
  state: State = {
    form: { ...DEFAULT_FORM },
    formErrors: {},
    query: null,
    tookMs: null,
    error: null,
    panels: emptyPanels("idle"),
    transport: "connecting",
    changes: [],
    view: "lookup",
    bulk: { busy: false, error: null, responses: [] },
    sources: { busy: false, error: null, message: null, rows: [] },
    importing: { busy: false, rowsDone: null, result: null, error: null, rowErrors: [], errorCount: 0 },
    response: null,
    keyProblem: null,
  };
  private listeners: Listener[] = [];

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }

  update(change: Partial<State>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener(this.state);
  }

  startLookup(categories: Category[]): void {
    const panels = emptyPanels("idle");
    for (const category of categories) panels[category].status = "loading";
    this.update({ panels, query: null, tookMs: null, error: null, response: null });
  }

  categoryDone(category: Category, result: CategoryResult): void {
    const panels = { ...this.state.panels, [category]: { ...this.state.panels[category], status: "done", result } };
    this.update({ panels });
  }

  lookupDone(query: string, tookMs: number): void {
    const results: LookupResponse["results"] = {};
    for (const category of CATEGORIES) {
      const result = this.state.panels[category].result;
      if (result) results[category] = result;
    }
    this.update({ query, tookMs, response: { query, results, took_ms: tookMs } });
  }

  lookupFailed(error: string): void {
    const panels = { ...this.state.panels };
    for (const category of CATEGORIES) {
      if (panels[category].status === "loading") panels[category] = { ...panels[category], status: "failed" };
    }
    this.update({ panels, error });
  }

  sortPanel(category: Category, key: string): void {
    const panel = this.state.panels[category];
    const descending = panel.sortKey === key ? !panel.sortDescending : false;
    this.update({ panels: { ...this.state.panels, [category]: { ...panel, sortKey: key, sortDescending: descending } } });
  }
}
