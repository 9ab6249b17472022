"""Official sanctions lists to watchlist files: `watcher import SOURCE FILE... -o NAME.yaml`.

`ofac` (SDN and non-SDN CSV), `un` (Security Council consolidated XML) and `opensanctions`
(FollowTheMoney JSON lines) translate files to `Entry` values; `writer` renders them as a stable
YAML watchlist and diffs a re-import against the previous one.
"""
