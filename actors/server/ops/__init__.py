"""Database operations of the state server (SQLAlchemy Core, set-based, no HTTP).

Each function takes a ``Tx`` (writes) or a ``Connection`` (reads), validates the ids it is
given (``UnknownId`` / ``InvalidInput`` before any write), asks ``actors.server.fsm`` what the
status changes are, and writes them with a handful of statements (IN lists, executemany).
"""
