"""One exception tree. Every message says what went wrong and what to do about it."""


class BenchError(Exception):
    """Base of all errors the bench reports to a user."""


class ConfigError(BenchError):
    """A target TOML, manifest or command-line option is invalid."""


class ImageError(BenchError):
    """A firmware image is missing, corrupt, or does not match its manifest or target."""


class TargetError(BenchError):
    """A target could not be started, flashed, reached or stopped."""


class LinkError(BenchError):
    """The wire protocol failed: timeout, unrecoverable loss, malformed message."""


class HandshakeError(LinkError):
    """The image did not answer HELLO, or its HELLO does not match the manifest."""


class DeviceError(LinkError):
    """The device answered with an ERROR message."""

    def __init__(self, code: int, text: str, message: str | None = None):
        self.code = code
        self.text = text
        super().__init__(message or f"device error {code}: {text}")


class DataError(BenchError):
    """A test set or WAV file cannot be used (unpaired, wrong format, silent, clipped)."""


class MetricError(BenchError):
    """A metric could not be computed for a reason other than an unscorable input."""


class ResultsError(BenchError):
    """The results store is missing a run, or a run directory is unreadable."""
