// The page's input rules against the cases the server is tested with (tests/fixtures/lookup_input_cases.json).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { checkLimit, checkPort, checkProtocol, checkQuery, splitQueries } from "../src/validate.js";

type Cases = Record<"queries" | "ports" | "limits" | "protocols", [string, boolean][]>;
const casesUrl = new URL("../../../tests/fixtures/lookup_input_cases.json", import.meta.url);
const cases = JSON.parse(readFileSync(casesUrl, "utf8")) as Cases;

const checks = { queries: checkQuery, ports: checkPort, limits: checkLimit, protocols: checkProtocol } as const;

for (const [kind, check] of Object.entries(checks) as [keyof Cases, (text: string) => { ok: boolean }][]) {
  test(`${kind}: accepted exactly when the server accepts them`, () => {
    for (const [text, valid] of cases[kind]) {
      assert.equal(check(text).ok, valid, `${kind} ${JSON.stringify(text)}`);
    }
  });
}

test("a refused query says what is wrong with it", () => {
  const result = checkQuery("10.0.0.0/40");
  assert.equal(result.ok, false);
  assert.match(result.ok ? "" : result.error, /10\.0\.0\.0\/40/);
});

test("a paste box splits on lines, spaces and commas", () => {
  assert.deepEqual(splitQueries("10.0.0.1\n10.0.0.2, 10.0.0.3  2001:db8::1,\n"), [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.3",
    "2001:db8::1",
  ]);
});
