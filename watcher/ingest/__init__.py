"""Steps 2-4 of the pipeline: fetch -> parse -> dedupe, for one feed at a time.

`fetch` (behind the SSRF guard `netguard`) gets the document, `parse` and `text` turn it into
`Article` values, `identity` gives each item its stable keys, `schedule_math` says when to
poll next, and `poll` is the short script over all of them that ends in one store write.
"""
