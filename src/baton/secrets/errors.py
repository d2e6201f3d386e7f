"""Errors of the local secrets store.

Exception tree::

    BatonError
    └── SecretsError                 something about a stored secret went wrong
        ├── InvalidSecretName        the name is not [A-Za-z][A-Za-z0-9_.-]*   (exit code 2)
        ├── SecretNotFound           no secret by that name                    (exit code 1)
        └── SecretsUnavailable       the backend cannot be used (unsafe key file
                                     permissions, undecryptable file, keyring failure)
"""

from __future__ import annotations

from baton.errors import BatonError


class SecretsError(BatonError):
    """A secret could not be stored, read or removed."""


class InvalidSecretName(SecretsError):
    """A secret name that cannot be referenced as ``${secret:NAME}``."""

    cli_exit_code = 2


class SecretNotFound(SecretsError):
    """No secret is stored under the requested name."""

    def __init__(self, name: str, backend: str) -> None:
        self.name = name
        super().__init__(
            f"no secret named {name!r} (looked in: {backend}); set it with `baton secrets set {name}`"
        )


class SecretsUnavailable(SecretsError):
    """The secrets backend cannot be used as it is."""
