"""Delivery: alerts and digests sent by email (SMTP) and Slack (incoming webhooks), each
message enqueued once under a dedupe key and sent by an RQ job with retries
(docs/design.md "Alerts").

message.py        what is sent, channel-neutral: subject, plain text, HTML, images, Slack blocks
outbox.py         deliveries enqueued once under a dedupe key, queued as jobs, sent, logged
email.py          SMTP (STARTTLS before AUTH, or smtps), MIME with inline chart images
slack.py          Slack incoming webhooks: Block Kit within its limits, errors classified
alert_message.py  a rule's or a monitor's firing as a Message
links.py          absolute links to the app's pages (APP_PUBLIC_URL)
mailbox.py        the local SMTP server `metricx up` and the tests run when SMTP_URL is unset
errors.py         DeliveryError: transient (retried) or permanent
"""
