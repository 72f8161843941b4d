"""Publishing keys: generate ed25519 key pairs per TUF role and load them as signers.

Private keys are PKCS#8 PEM files, ``<role>-<n>.pem``, created with mode 0600 next to a
``<role>-<n>.pub.json`` holding the public key. Keep the root keys offline: ``publish``
and ``refresh`` need only the targets, snapshot and timestamp keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from securesystemslib.signer import CryptoSigner, Key, SSlibKey

from .errors import SigningKeyError

ROLES = ('root', 'targets', 'snapshot', 'timestamp')


def generate_role_keys(keys_dir: Path, role: str, count: int) -> list[CryptoSigner]:
    """Create ``count`` new ed25519 keys for ``role``; refuses to overwrite existing ones."""
    keys_dir = Path(keys_dir)
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    signers = []
    for index in range(count):
        pem_path = keys_dir / f'{role}-{index}.pem'
        if pem_path.exists():
            raise SigningKeyError(
                f'{pem_path} already exists; refusing to overwrite a signing key '
                '(pass a new --keys-dir, or move the old keys away deliberately)')
        signer = CryptoSigner.generate_ed25519()
        fd = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(signer.private_bytes)
        public = {'keyid': signer.public_key.keyid, **signer.public_key.to_dict()}
        (keys_dir / f'{role}-{index}.pub.json').write_text(json.dumps(public, indent=1) + '\n')
        signers.append(signer)
    return signers


def load_role_signers(keys_dir: Path, role: str, authorized: dict[str, Key]) -> list[CryptoSigner]:
    """Signers for ``role`` found in ``keys_dir`` whose key ids the root authorizes."""
    keys_dir = Path(keys_dir)
    signers = []
    for pem_path in sorted(keys_dir.glob(f'{role}-*.pem')):
        pub_path = pem_path.with_name(pem_path.name[:-len('.pem')] + '.pub.json')
        try:
            public = json.loads(pub_path.read_text())
            keyid = public.pop('keyid')
            key = SSlibKey.from_dict(keyid, public)
        except (OSError, ValueError, KeyError) as exc:
            raise SigningKeyError(f'cannot read public key {pub_path}: {exc}') from exc
        if keyid not in authorized:
            continue
        try:
            signers.append(CryptoSigner.from_priv_key_uri(f'file2:{pem_path}', key))
        except Exception as exc:  # foreign key-library errors, wrapped at this seam
            raise SigningKeyError(f'cannot load private key {pem_path}: {exc}') from exc
    return signers
