"""Step 1 of the pipeline: what the user wrote, read and validated.

The config file's schema (`schema`), its loading with file:line:col errors (`settings`,
`yamlfile`), watchlists and ignore lists (`watchlist`, `ignore`), and the immutable snapshot
the daemon runs on (`snapshot`, with the compiled-index cache `indexcache`).
"""
