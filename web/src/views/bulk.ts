// Many addresses: the answer of one batch request, grouped per address with counts, each expandable.
import { CATEGORIES } from "../events";
import type { State } from "../store";
import { element, staticTable } from "./results";
import { TITLES } from "./tables";

export function renderBulk(root: HTMLElement, state: State): void {
  const { bulk } = state;
  const children: HTMLElement[] = [];
  if (bulk.busy) children.push(element("p", { role: "status", class: "spinner" }, "Looking up…"));
  if (bulk.error) children.push(element("p", { role: "alert", class: "field-error" }, bulk.error));
  if (bulk.responses.length) {
    children.push(element("p", { class: "total" }, `${bulk.responses.length} addresses looked up`));
    for (const response of bulk.responses) {
      const counts = CATEGORIES.filter((c) => response.results[c]).map((c) => `${c} ${response.results[c]?.total ?? 0}`);
      const details = element("details", { class: "bulk-item" });
      details.append(element("summary", {}, element("strong", {}, response.query), ` — ${counts.join(", ")}`));
      for (const category of CATEGORIES) {
        const result = response.results[category];
        if (!result) continue;
        details.append(element("h3", {}, `${TITLES[category]}: ${result.total}`), staticTable(category, result.matches, response.query));
      }
      children.push(details);
    }
  }
  root.replaceChildren(...children);
}
