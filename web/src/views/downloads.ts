// Lookup answers as files a person keeps: JSON as the API gives it, CSV one row per match.
import { CATEGORIES, type LookupResponse } from "../events";

const CSV_FIELDS = ["query", "category", "prefix_len", "matched_on", "source", "line", "name", "action", "direction",
  "protocol", "cidr", "port", "group_id", "from_port", "to_port", "vip", "destination", "members", "description"];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(responses: LookupResponse[]): string {
  const lines = [CSV_FIELDS.join(",")];
  for (const response of responses) {
    for (const category of CATEGORIES) {
      for (const match of response.results[category]?.matches ?? []) {
        const row: Record<string, unknown> = { ...match, query: response.query, category };
        lines.push(CSV_FIELDS.map((name) => csvCell(row[name])).join(","));
      }
    }
  }
  return lines.join("\r\n") + "\r\n";
}

/** Offer ``text`` as a file download named ``name``. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
