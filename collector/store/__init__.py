"""The SQLite store: the schema, opening the file, the writer thread, and every query.

All of queuepulse's SQL lives in this package; the other modules hand it typed values and
take typed values back.
"""
