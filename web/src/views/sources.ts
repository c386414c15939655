// What has been imported: every (category, source) with its count, import time and checksum; delete asks first.
import type { Category } from "../events";
import type { State } from "../store";
import { element } from "./results";

export function renderSources(root: HTMLElement, state: State, onDelete: (category: Category, source: string) => void): void {
  const { sources } = state;
  const children: HTMLElement[] = [];
  if (sources.busy) children.push(element("p", { role: "status", class: "spinner" }, "Loading…"));
  if (sources.error) children.push(element("p", { role: "alert", class: "field-error" }, sources.error));
  if (sources.message) children.push(element("p", { role: "status" }, sources.message));
  const head = element("tr", {}, ...["Category", "Source", "Records", "Imported (UTC)", "Checksum", ""].map((label) =>
    element("th", { scope: "col" }, label)));
  const rows = sources.rows.map((row) => {
    const remove = element("button", { type: "button" }, "Delete");
    remove.setAttribute("aria-label", `Delete ${row.category} source ${row.source}`);
    remove.addEventListener("click", () => onDelete(row.category, row.source));
    return element("tr", {},
      element("td", {}, row.category),
      element("td", {}, row.source),
      element("td", { class: "number" }, row.count.toLocaleString("en")),
      element("td", {}, row.imported_at.replace("T", " ").replace("Z", "")),
      element("td", { title: row.checksum }, element("code", {}, row.checksum.slice(0, 12))),
      element("td", {}, remove));
  });
  if (!sources.busy && sources.rows.length === 0 && !sources.error) children.push(element("p", {}, "Nothing imported yet."));
  if (sources.rows.length) {
    children.push(element("div", { class: "table-wrap" }, element("table", {}, element("thead", {}, head), element("tbody", {}, ...rows))));
  }
  root.replaceChildren(...children);
}
