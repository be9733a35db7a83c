"""Errors a user may see. Their message is the whole story, shown as one line."""


class MetricxError(Exception):
    """Base for errors whose message is meant for the person at the keyboard."""


class NotFoundError(MetricxError):
    pass


class InvalidInputError(MetricxError):
    pass


class PermissionDeniedError(MetricxError):
    pass


class UnstorableValueError(InvalidInputError):
    """A value the database refused (a number out of its range, a NUL, text that is not
    Unicode): the message says which kind of value, never the statement or its parameters."""
