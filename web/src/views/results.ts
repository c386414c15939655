// The answer: the normalised query, and a panel per category (spinner, then a table or "nothing touches ...").
import { CATEGORIES, type Category, type Match } from "../events";
import type { Panel, State, Store } from "../store";
import { bestIds, COLUMNS, members, sorted, TITLES } from "./tables";

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function hostOf(query: string | null): string | null {
  if (!query) return null;
  const [address, length] = query.trim().toLowerCase().split("/");
  return length === undefined || length === "32" || length === "128" ? (address ?? null) : null;
}

function cell(category: Category, key: string, match: Match, text: string, host: string | null): HTMLElement {
  if (key === "action" && text) return element("td", { class: `action-${text}` }, text);
  if (key === "members" && host && match.matched_on === "member") {
    // The member that matched the looked-up address, marked in words as well as colour.
    const td = element("td");
    members(match).forEach((member, index) => {
      if (index) td.append(", ");
      const label = member.port === null ? member.ip : `${member.ip}:${member.port}`;
      td.append(member.ip === host ? element("mark", { title: "matched member" }, label) : label);
    });
    return td;
  }
  if (key === "description" && text) return element("td", { class: "description", title: text }, text);
  return element("td", {}, text);
}

function table(category: Category, panel: Panel, store: Store, host: string | null): HTMLElement {
  const result = panel.result;
  if (!result) return element("p", {}, "");
  if (result.matches.length === 0) return element("p", { class: "empty" }, "Nothing touches this address.");
  const columns = COLUMNS[category];
  const best = bestIds(category, result.matches);
  const head = element("tr");
  for (const column of columns) {
    const sortedHere = panel.sortKey === column.key;
    const button = element("button", { type: "button", class: "sort" }, column.label);
    button.addEventListener("click", () => store.sortPanel(category, column.key));
    const ariaSort = sortedHere ? (panel.sortDescending ? "descending" : "ascending") : "none";
    head.append(element("th", { scope: "col", "aria-sort": ariaSort }, button));
  }
  const body = element("tbody");
  const column = columns.find((c) => c.key === panel.sortKey);
  for (const match of sorted(result.matches, column, panel.sortDescending)) {
    const row = element("tr", best.has(match.id) ? { class: "best" } : {});
    columns.forEach((c, index) => {
      const text = c.text(match);
      const td = cell(category, c.key, match, text, host);
      if (index === 0 && best.has(match.id)) td.append(element("span", { class: "badge" }, " best"));
      row.append(td);
    });
    body.append(row);
  }
  return element("div", { class: "table-wrap" }, element("table", {}, element("thead", {}, head), body));
}

/** A category's matches as a plain table (no sorting): the bulk view's expanded rows. */
export function staticTable(category: Category, matches: Match[], query: string): HTMLElement {
  if (matches.length === 0) return element("p", { class: "empty" }, "Nothing touches this address.");
  const columns = COLUMNS[category];
  const head = element("tr", {}, ...columns.map((c) => element("th", { scope: "col" }, c.label)));
  const host = hostOf(query);
  const rows = matches.map((match) =>
    element("tr", {}, ...columns.map((c) => cell(category, c.key, match, c.text(match), host))),
  );
  return element("div", { class: "table-wrap" }, element("table", {}, element("thead", {}, head), element("tbody", {}, ...rows)));
}

function panelView(category: Category, state: State, store: Store, onMore: (category: Category) => void): HTMLElement {
  const panel = state.panels[category];
  const heading = element("h2", { id: `panel-${category}` }, TITLES[category]);
  const section = element("section", { class: "panel", "aria-labelledby": `panel-${category}`, "aria-busy": String(panel.status === "loading") });
  section.append(heading);
  if (panel.status === "loading") {
    section.append(element("p", { class: "spinner", role: "status" }, "Looking up…"));
    return section;
  }
  if (panel.status === "failed") {
    section.append(element("p", { class: "failed" }, "Not answered."));
    return section;
  }
  if (panel.result) {
    const shown = panel.result.matches.length;
    const summary = element("p", { class: "total" }, `${panel.result.total} match${panel.result.total === 1 ? "" : "es"}`);
    if (panel.result.truncated) {
      summary.append(`, showing the first ${shown}. `);
      const more = element("button", { type: "button" }, "Load more");
      more.addEventListener("click", () => onMore(category));
      summary.append(more);
    }
    section.append(summary, table(category, panel, store, hostOf(state.form.q)));
  }
  return section;
}

// A panel's element is kept while its state object is the same (the store replaces only what changed), so each
// lookup:partial renders one table, not all four again.
const rendered = new WeakMap<Panel, HTMLElement>();

export function renderResults(root: HTMLElement, state: State, store: Store, onMore: (category: Category) => void): void {
  const shown = CATEGORIES.filter((category) => state.panels[category].status !== "idle");
  const header = element("p", { class: "answer", "aria-live": "polite" });
  if (state.query) {
    const took = state.tookMs === null ? "?" : state.tookMs.toFixed(1);
    header.append("Query ", element("strong", {}, state.query), ` answered in ${took} ms`);
  }
  if (state.error) header.append(element("span", { class: "error", role: "alert" }, state.error));
  const panels = shown.map((category) => {
    const panel = state.panels[category];
    const kept = rendered.get(panel);
    if (kept) return kept;
    const node = panelView(category, state, store, onMore);
    rendered.set(panel, node);
    return node;
  });
  const current = [...root.children];
  const wanted = [header, ...panels];
  if (current.length === wanted.length && current.slice(1).every((node, index) => node === wanted[index + 1])) {
    current[0]?.replaceWith(header);
    return;
  }
  root.replaceChildren(...wanted);
}
