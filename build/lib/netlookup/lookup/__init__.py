"""The lookup engine: which records touch an address or CIDR. No HTTP in here."""
