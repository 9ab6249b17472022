"""Running the pipeline: the daemon (`watcher run`), one-shot runs, and what drives them.

`daemon` is the long-running service; `once` is one pass (`run --once`, `demo`); `jobs` and
`cron` say what is scheduled when (pure); `sdnotify` speaks systemd's protocol and
`filewatch` notices edited files.
"""
