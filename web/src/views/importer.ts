// An import's progress (rows read, from import:progress), then its result, or the rows that refused it.
import type { RowError } from "../events";
import type { State } from "../store";
import { element } from "./results";

export function renderImport(root: HTMLElement, state: State): void {
  const run = state.importing;
  const children: HTMLElement[] = [];
  if (run.busy) {
    const bar = element("progress", { "aria-label": "Import progress" });
    const rows = run.rowsDone === null ? "uploading…" : `${run.rowsDone.toLocaleString("en")} rows read`;
    children.push(element("p", { role: "status" }, bar, ` ${rows}`));
  }
  if (run.result) {
    const r = run.result;
    const lines = [`Imported ${r.category}/${r.source}: ${r.count.toLocaleString("en")} records, +${r.added} −${r.removed}, in ${r.took_ms} ms.`];
    if (r.unmapped) lines.push(`Not imported (name no network): ${r.unmapped.count} (${Object.entries(r.unmapped.by_kind).map(([k, n]) => `${k} ${n}`).join(", ")}).`);
    if (r.skipped) {
      const listed = r.skipped.rows.length < r.skipped.count ? `, the first ${r.skipped.rows.length} below` : ", below";
      lines.push(`Skipped (could not be read): ${r.skipped.count}${listed}.`);
    }
    children.push(element("p", { role: "status", class: "import-done" }, lines.join(" ")));
    if (r.skipped) children.push(rowTable(r.skipped.rows, "Entries the import skipped"));
  }
  if (run.error) {
    children.push(element("p", { role: "alert", class: "field-error" }, run.error));
  }
  if (run.rowErrors.length) {
    children.push(element("p", {}, `Nothing was changed: ${run.errorCount} bad rows (the first ${run.rowErrors.length} below).`));
    children.push(rowTable(run.rowErrors, "Rows that refused the import"));
  }
  root.replaceChildren(...children);
}

function rowTable(errors: RowError[], label: string): HTMLElement {
  // Only the columns the rows fill: a config file has no JSON path, a config line no field.
  const columns: [string, (e: RowError) => string][] = [
    ["Line", (e) => String(e.line)],
    ["Path", (e) => e.path ?? ""],
    ["Text", (e) => e.text ?? ""],
    ["Field", (e) => e.field ?? ""],
    ["Reason", (e) => e.reason],
  ];
  const shown = columns.filter(([name, value]) => name === "Line" || name === "Reason" || errors.some((e) => value(e) !== ""));
  const head = element("tr", {}, ...shown.map(([name]) => element("th", { scope: "col" }, name)));
  const rows = errors.map((e) => element("tr", {}, ...shown.map(([, value]) => element("td", {}, value(e)))));
  return element("div", { class: "table-wrap" }, element("table", { "aria-label": label }, element("thead", {}, head), element("tbody", {}, ...rows)));
}
