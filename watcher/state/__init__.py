"""Durable state: the one transaction-shaped interface to the database.

`sqlite` is the embedded backend (a file in ``state_dir``); `lock` keeps one daemon per
state directory. Several instances may share one database: they split the work through
leases (`leases` holds their values; the rules are in the "instances and leases" section of
`transaction`).
"""
