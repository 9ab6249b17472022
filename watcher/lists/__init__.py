"""Official lists kept current: the ``lists:`` config section, scheduled updates (fetch,
validate, import, diff, atomic swap), designation diffs and back-screening.

- `watcher.lists.diff`: what changed between two versions of a list (pure);
- `watcher.lists.validate`: what a real list never is (HTML pages, sudden losses) (pure);
- `watcher.lists.update`: one update of one configured list, and its state;
- `watcher.lists.rescreen`: stored articles screened again against newly listed entries.
"""
