"""Credentials stored encrypted on this machine and referenced from config as ``${secret:NAME}``.

``baton secrets set|list|remove`` manage them; :func:`resolve_secret` is the configuration
loader's ``secret:`` resolver. Importing this package is cheap: the keyring and
cryptography libraries are loaded only when a secret is actually read or written.
"""

from baton.secrets.errors import InvalidSecretName, SecretNotFound, SecretsError, SecretsUnavailable
from baton.secrets.store import (
    BACKEND_ENV,
    DIR_ENV,
    SecretStore,
    default_store,
    open_secret_store,
    resolve_secret,
    secrets_dir,
    validate_name,
)

__all__ = [
    "BACKEND_ENV",
    "DIR_ENV",
    "InvalidSecretName",
    "SecretNotFound",
    "SecretStore",
    "SecretsError",
    "SecretsUnavailable",
    "default_store",
    "open_secret_store",
    "resolve_secret",
    "secrets_dir",
    "validate_name",
]
