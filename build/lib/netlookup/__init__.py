"""netlookup: what touches this address?"""

__version__ = "0.1.0"
