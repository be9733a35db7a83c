"""Delivery: alerts and digests sent by email (SMTP) and Slack (incoming webhooks), each
message enqueued once under a dedupe key and sent by an RQ job with retries
(docs/design.md "Alerts").

message.py  what is sent, channel-neutral: subject, plain text, HTML, inline images, Slack blocks
"""
