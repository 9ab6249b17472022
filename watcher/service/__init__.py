"""Running the pipeline: the daemon (`watcher run`), one-shot runs, and what drives them.

`controller` owns the daemon's life cycle (lock, signals, systemd, scheduler, shutdown) and
`handlers` what it does (the poll loop on the database's clock, mail, lists, retention,
reload); `once` is one pass (`run --once`, `demo`); `jobs` and `cron` say what is scheduled
when (pure); `sdnotify` speaks systemd's protocol and `filewatch` notices edited files.
"""
