"""One error root for the runtime, so callers catch one type and CLIs print one clear line."""


class MbjaError(Exception):
    """Base class of every error the runtime raises on purpose."""


class BundleError(MbjaError):
    """The bundle is missing, incomplete, tampered with, or of a format this runtime can't read."""
