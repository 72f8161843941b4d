"""One exception tree for the OTA package; every message says what to do next."""


class OtaError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(OtaError):
    """A setting, argument or local file is missing or malformed."""


class SigningKeyError(OtaError):
    """Publishing keys are missing, unreadable, or too few for a role's threshold."""


class PublishError(OtaError):
    """The repository could not be written (bad sources, duplicate version, ...)."""


class VerificationError(OtaError):
    """TUF metadata or a downloaded target failed verification: nothing was installed."""


class DownloadError(OtaError):
    """A download failed (network, HTTP status, too many bytes); retry resumes it."""


class ReleaseNotFoundError(OtaError):
    """The repository has no release matching the request."""


class DowngradeError(OtaError):
    """The offered release is older than the installed one (anti-rollback)."""


class InsufficientSpaceError(OtaError):
    """Not enough free disk space to download and unpack the release."""


class UnsafeBundleError(OtaError):
    """A bundle member would escape its slot or is of a refused kind."""


class HealthCheckFailed(OtaError):
    """The new release did not pass its health check; the previous one is back."""


class StateError(OtaError):
    """The robot's OTA state is locked by another process or inconsistent."""
