"""Durable state: the one transaction-shaped interface to the database.

`sqlite` is the embedded backend (a file in ``state_dir``); `lock` keeps one daemon per
state directory.
"""
