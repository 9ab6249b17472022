"""The last steps of the pipeline: digest/alert -> send.

`notifier` decides what goes out and queues it, `render` turns pending matches into mail
(pure), `outbox` holds rendered mail until a server accepts it, `mailer` delivers it, and
`notice` holds the values they pass each other.
"""
