"""One error root for the toolchain: the CLI turns it into one clear line and exit code."""


class BuildError(Exception):
    """A problem the user can fix (bad option, unusable checkpoint, unwritable output).

    ``exit_code`` lets scripts tell usage mistakes (2) from failed conversions (1).
    """

    exit_code = 1


class UsageError(BuildError):
    exit_code = 2
