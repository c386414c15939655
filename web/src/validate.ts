// The page's input rules, the same as the server's (a test holds both to tests/fixtures/lookup_input_cases.json):
// an address or CIDR (IPv4, IPv6, IPv4-mapped IPv6; host bits allowed), a port 0-65535, a protocol of 1-32
// characters, a limit 1-1000. The server normalises; the page only says early what it would refuse.

export type Check<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_QUERY_LENGTH = 64;

function ipv4Valid(text: string): boolean {
  const parts = text.split(".");
  return (
    parts.length === 4 &&
    parts.every((part) => /^\d{1,3}$/.test(part) && (part === "0" || !part.startsWith("0")) && Number(part) <= 255)
  );
}

function groupsValid(groups: string[]): boolean {
  return groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group));
}

function ipv6Valid(text: string): boolean {
  let body = text;
  let width = 8;
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 address takes the last two groups.
    if (!ipv4Valid(body.slice(lastColon + 1))) return false;
    body = body.slice(0, lastColon + 1) + "0";
    width = 7;
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = body.split(":");
    return groups.length === width && groupsValid(groups);
  }
  const [head = "", tail = ""] = halves;
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  return left.length + right.length < width && groupsValid(left) && groupsValid(right);
}

/** An address or CIDR the server accepts as a lookup query; the value is the trimmed text. */
export function checkQuery(input: string): Check<string> {
  const text = input.trim();
  if (text === "") return { ok: false, error: "empty address" };
  if (text.length > MAX_QUERY_LENGTH) return { ok: false, error: `longer than ${MAX_QUERY_LENGTH} characters` };
  if (text.includes("%")) return { ok: false, error: `${text} is not an address or CIDR: zone ids are not supported` };
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const length = slash < 0 ? null : text.slice(slash + 1);
  if (length !== null && !/^\d+$/.test(length)) {
    return { ok: false, error: `${text} is not an address or CIDR: prefix length ${length} is not a number` };
  }
  if (length !== null && length.length > 1 && length.startsWith("0")) {
    return { ok: false, error: `${text} is not written as an address or CIDR: prefix length ${length} has a leading zero` };
  }
  const v6 = address.includes(":");
  const valid = v6 ? ipv6Valid(address) : ipv4Valid(address);
  if (!valid) return { ok: false, error: `${text} is not an address or CIDR` };
  if (length !== null && Number(length) > (v6 ? 128 : 32)) {
    return { ok: false, error: `${text} is not an address or CIDR: prefix length above ${v6 ? 128 : 32}` };
  }
  return { ok: true, value: text };
}

function wholeNumber(input: string, name: string, low: number, high: number): Check<number | null> {
  const text = input.trim();
  if (text === "") return { ok: true, value: null };
  if (!/^\d+$/.test(text) || Number(text) < low || Number(text) > high) {
    return { ok: false, error: `${name} must be a whole number from ${low} to ${high}` };
  }
  return { ok: true, value: Number(text) };
}

/** A port 0-65535; empty is "any port" (null). */
export function checkPort(input: string): Check<number | null> {
  return wholeNumber(input, "port", 0, 65535);
}

/** Matches per category, 1-1000; empty is the default (null). */
export function checkLimit(input: string): Check<number | null> {
  return wholeNumber(input, "limit", 1, 1000);
}

/** A protocol of 1-32 characters as written (6 is not tcp); empty is "any protocol" (null). */
export function checkProtocol(input: string): Check<string | null> {
  if (input === "") return { ok: true, value: null };
  if (input.trim() === "") return { ok: false, error: "protocol must not be blank" };
  if (input.length > 32) return { ok: false, error: "protocol must be 1 to 32 characters" };
  return { ok: true, value: input };
}

/** The queries of a paste box: one per line, or separated by spaces or commas; empty parts dropped. */
export function splitQueries(text: string): string[] {
  return text.split(/[\s,]+/).filter((part) => part !== "");
}
