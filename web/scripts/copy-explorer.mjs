// Copies the API explorers' files (Swagger UI for /docs, ReDoc for /redoc) from their npm packages into the built
// page, under versioned folders, so netlookup serves them itself: no CDN, /docs works offline.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(web, "..", "src", "netlookup", "webui", "explorer");
const version = (name) => JSON.parse(readFileSync(join(web, "node_modules", name, "package.json"), "utf8")).version;

const files = {
  swagger_js: ["swagger-ui-dist", "swagger-ui-bundle.js"],
  swagger_css: ["swagger-ui-dist", "swagger-ui.css"],
  swagger_favicon: ["swagger-ui-dist", "favicon-32x32.png"],
  redoc_js: ["redoc", "bundles/redoc.standalone.js"],
};
// ReDoc's sidebar shows Redocly's logo from their CDN: offline that is a failed request, so the copy points it at an
// empty image instead (and the build fails if a new ReDoc release moves it, rather than leaking a request).
const OFFLINE_PATCHES = {
  redoc_js: [['src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', `src:"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"`]],
};

const manifest = {};
for (const [key, [name, file]] of Object.entries(files)) {
  const target = join(`${name}-${version(name)}`, file.split("/").pop());
  mkdirSync(join(out, dirname(target)), { recursive: true });
  let body = readFileSync(join(web, "node_modules", name, file));
  for (const [from, to] of OFFLINE_PATCHES[key] ?? []) {
    const text = body.toString("utf8");
    if (!text.includes(from)) throw new Error(`${name}/${file} no longer holds ${from}: check it for requests to other hosts`);
    body = Buffer.from(text.replaceAll(from, to), "utf8");
  }
  writeFileSync(join(out, target), body);
  manifest[key] = `/explorer/${target}`;
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
