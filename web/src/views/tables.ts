// Which columns each category's table shows, and how a cell reads. Pure: no DOM.
import type { Category, Match } from "../events";

export interface Column {
  key: string;
  label: string;
  text: (match: Match) => string;
  sortValue?: (match: Match) => string | number;
}

function field(match: Match, name: string): string {
  const value = match[name];
  return value === null || value === undefined ? "" : String(value);
}

function plain(key: string, label: string): Column {
  return { key, label, text: (m) => field(m, key) };
}

const prefix: Column = {
  key: "prefix_len",
  label: "Prefix",
  text: (m) => `/${m.prefix_len}`,
  sortValue: (m) => m.prefix_len,
};

function withPort(address: string, port: string): string {
  if (!address) return port ? `*:${port}` : "";
  const host = address.includes(":") ? `[${address}]` : address;
  return port ? `${host}:${port}` : host;
}

export interface Member {
  ip: string;
  port: number | null;
}

export function members(match: Match): Member[] {
  return Array.isArray(match.members) ? (match.members as Member[]) : [];
}

const memberColumn: Column = {
  key: "members",
  label: "Members",
  text: (m) => members(m).map((member) => withPort(member.ip, member.port === null ? "" : String(member.port))).join(", "),
  sortValue: (m) => members(m).length,
};

export const COLUMNS: Record<Category, Column[]> = {
  acl: [
    prefix,
    { key: "source", label: "Source:line", text: (m) => (m.line === null ? m.source : `${m.source}:${field(m, "line")}`) },
    plain("name", "List"),
    plain("action", "Action"),
    plain("direction", "Direction"),
    plain("protocol", "Protocol"),
    plain("port", "Port"),
    plain("cidr", "Network"),
    plain("description", "Description"),
  ],
  sg: [
    prefix,
    plain("group_id", "Group"),
    plain("group_name", "Name"),
    plain("vpc_id", "VPC"),
    plain("account", "Account"),
    plain("region", "Region"),
    plain("direction", "Direction"),
    plain("protocol", "Protocol"),
    {
      key: "from_port",
      label: "Ports",
      text: (m) => {
        const low = field(m, "from_port");
        const high = field(m, "to_port");
        return low === high || high === "" ? low : `${low}-${high}`;
      },
    },
    plain("cidr", "Network"),
    plain("description", "Description"),
  ],
  lb: [
    { key: "vip", label: "VIP", text: (m) => withPort(field(m, "vip"), field(m, "port")) },
    plain("name", "Name"),
    plain("type", "Type"),
    plain("protocol", "Protocol"),
    memberColumn,
    plain("matched_on", "Matched on"),
    plain("source", "Source"),
  ],
  f5: [
    { key: "destination", label: "Destination", text: (m) => withPort(field(m, "destination"), field(m, "port")) },
    { key: "name", label: "Virtual server", text: (m) => [field(m, "partition"), field(m, "name")].filter(Boolean).join("/") },
    plain("pool", "Pool"),
    memberColumn,
    plain("snat", "SNAT"),
    plain("matched_on", "Matched on"),
    plain("source", "Source"),
  ],
};

export const TITLES: Record<Category, string> = {
  acl: "ACL entries",
  sg: "Security-group rules",
  lb: "Load balancers",
  f5: "F5 virtual servers",
};

const BEST_GROUP: Partial<Record<Category, string[]>> = { acl: ["source", "direction"], sg: ["group_id", "direction"] };

/** The ids of the longest-prefix matches of each best group (acl: source+direction, sg: group+direction). */
export function bestIds(category: Category, matches: Match[]): Set<number> {
  const group = BEST_GROUP[category];
  if (!group) return new Set();
  const longest = new Map<string, number>();
  const key = (m: Match): string => group.map((name) => field(m, name)).join("\u0000");
  for (const m of matches) longest.set(key(m), Math.max(longest.get(key(m)) ?? -1, m.prefix_len));
  return new Set(matches.filter((m) => longest.get(key(m)) === m.prefix_len).map((m) => m.id));
}

/** The matches in the column's order (stable; the server's order is most specific first). */
export function sorted(matches: Match[], column: Column | undefined, descending: boolean): Match[] {
  if (!column) return matches;
  const value = column.sortValue ?? column.text;
  const ordered = [...matches].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
  });
  return descending ? ordered.reverse() : ordered;
}
