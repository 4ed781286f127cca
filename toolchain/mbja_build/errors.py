"""One error root for the toolchain: the CLI turns it into one clear line and exit code."""


class BuildError(Exception):
    """A problem the user can fix (bad option, unusable checkpoint, unwritable output).

    ``exit_code`` lets scripts tell usage mistakes (2) from failed conversions (1).
    """

    exit_code = 1


class UsageError(BuildError):
    exit_code = 2


def describe(e: BaseException, limit: int | None = None) -> str:
    """``Type: first line of the message`` (just ``Type`` for an empty one): a crash as one line,
    for the CLI's error and the bench's error rows; ``limit`` caps the message part."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:limit]}" if lines else type(e).__name__
