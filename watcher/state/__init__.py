"""Durable state: the one transaction-shaped interface to the database.

`interface.StateStore` is what callers type against; `open.open_state(config)` opens the one the
config names: `sqlite` (the embedded default, a file in ``state_dir``) or `postgresql` (shared by
several instances). `transaction.Transaction` holds all SQL, for both; `lock` keeps one daemon
per state directory. Several instances may share one database: they split the work through
leases (`leases` holds their values; the rules are in the "instances and leases" section of
`transaction`).
"""
