"""The one exception type that means "the job's inputs are wrong", as opposed to a bug.

main() turns a UserError into a one-line failure reason and a non-zero exit; anything else is
reported as an internal error with its traceback on stderr.
"""


class UserError(Exception):
    """Bad data, a bad hyperparameter or a bad job layout; the message says how to fix it."""
