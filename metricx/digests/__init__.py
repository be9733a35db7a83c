"""Digests: daily and weekly summaries of a workspace, sent by email and Slack through the
delivery outbox (docs/design.md "Alerts").

content.py  what a digest says: KPIs against the previous period, movers, alerts fired,
            today's pacing, freshness; every number the engine's or a service's
charts.py   its charts as PNG images (Altair, rendered by vl-convert)
render.py   `digest_message`: the Message (subject, text, HTML with inline images, Slack blocks)
due.py      `run_due_digests`, the job: every digest whose time has come enqueued once per
            channel, then its next run; `ensure_default_digests`
"""
