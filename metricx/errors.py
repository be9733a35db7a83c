"""Errors a user may see. Their message is the whole story, shown as one line."""


class MetricxError(Exception):
    """Base for errors whose message is meant for the person at the keyboard."""


class NotFoundError(MetricxError):
    pass


class InvalidInputError(MetricxError):
    pass


class PermissionDeniedError(MetricxError):
    pass
