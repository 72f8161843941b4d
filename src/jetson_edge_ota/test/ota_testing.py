"""Test helpers: a fault-injecting static HTTP server, release trees, forged metadata."""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from jetson_edge_ota.keys import load_role_signers
from jetson_edge_ota.bundle import BundleInfo, BundleSources, build_bundle, verify_slot
from jetson_edge_ota.repository import RepositoryWriter

_RANGE_RE = re.compile(r'^bytes=(\d+)-$')


@dataclass
class Fault:
    """What the server does for a matching path instead of serving it honestly.

    ``body``: serve these bytes; ``cut_after``: close the connection after that many body
    bytes (in the first ``times`` responses only); ``endless``: stream garbage forever;
    ``status``: answer with this HTTP status; ``ignore_range``: always answer 200.
    """

    body: bytes | None = None
    cut_after: int | None = None
    times: int = 1_000_000
    endless: bool = False
    status: int | None = None
    ignore_range: bool = False
    stall_s: float = 0.0          # with cut_after: go silent this long instead of closing
    hits: int = 0


@dataclass
class RepoServer:
    """Serves ``root`` on 127.0.0.1 with HTTP Range support and injectable faults."""

    root: Path
    faults: dict[str, Fault] = field(default_factory=dict)   # key: path suffix
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *_args) -> None:  # noqa: ANN002
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes: without this, delayed ACKs
                # add ~40 ms to every response.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split('?')[0]
                range_header = self.headers.get('Range')
                server.requests.append((path, range_header))
                fault = next((f for suffix, f in server.faults.items()
                              if path.endswith(suffix)), None)
                if fault is not None:
                    fault.hits += 1
                if fault is not None and fault.status is not None:
                    self.send_response(fault.status)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                if fault is not None and fault.endless:
                    self.send_response(200)
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    block = b'\xa5' * 65536
                    try:
                        while True:
                            self.wfile.write(block)
                    except OSError:
                        return
                file_path = (server.root / path.lstrip('/')).resolve()
                if fault is not None and fault.body is not None:
                    data = fault.body
                elif file_path.is_file() and server.root.resolve() in file_path.parents:
                    data = file_path.read_bytes()
                else:
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                start = 0
                match = _RANGE_RE.match(range_header or '')
                if match and not (fault is not None and fault.ignore_range):
                    start = int(match.group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header('Content-Range', f'bytes */{len(data)}')
                        self.send_header('Content-Length', '0')
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header('Content-Range',
                                     f'bytes {start}-{len(data) - 1}/{len(data)}')
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header('Content-Length', str(len(body)))
                if fault is not None and fault.cut_after is not None and \
                        fault.hits <= fault.times:
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    self.wfile.write(body[:fault.cut_after])
                    self.wfile.flush()
                    if fault.stall_s:
                        time.sleep(fault.stall_s)
                    self.close_connection = True
                    return
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bundle_requests(self) -> list[tuple[str, str | None]]:
        return [r for r in self.requests if '/targets/jetson-edge/' in r[0]
                and not r[0].endswith('index.json')]


def make_sources(base: Path, version: str, *, payload_bytes: int = 4096,
                 engines_for: tuple[str, ...] = ()) -> BundleSources:
    """A small release tree whose files carry the version, so a mix would be visible."""
    ws = base / f'src-{version}' / 'workspace'
    (ws / 'lib' / 'jetson_edge').mkdir(parents=True)
    (ws / 'bin').mkdir()
    (ws / 'lib' / 'jetson_edge' / 'VERSION').write_text(version + '\n')
    (ws / 'bin' / 'jetson-edge').write_text(f'#!/bin/sh\necho {version}\n')
    (ws / 'bin' / 'jetson-edge').chmod(0o755)
    (ws / 'lib' / 'jetson_edge' / 'payload.bin').write_bytes(os.urandom(payload_bytes))
    (ws / 'lib' / 'current_version').symlink_to('jetson_edge/VERSION')
    config = base / f'src-{version}' / 'config'
    config.mkdir()
    (config / 'sim.yaml').write_text(f'release: {version}\n')
    models = base / f'src-{version}' / 'models'
    models.mkdir()
    (models / 'model.onnx').write_bytes(os.urandom(2048))
    engines = {}
    for model in engines_for:
        engine_dir = base / f'src-{version}' / f'engines-{model}'
        engine_dir.mkdir()
        (engine_dir / 'detector.engine').write_bytes(f'{model}-{version}'.encode() * 64)
        engines[model] = engine_dir
    return BundleSources(workspace=ws, config=config, models=models, engines=engines)


def publish_release(writer: RepositoryWriter, base: Path, version: str, *,
                    engines_for: tuple[str, ...] = (), payload_bytes: int = 4096) -> list[BundleInfo]:
    sources = make_sources(base, version, engines_for=engines_for, payload_bytes=payload_bytes)
    bundles = [build_bundle(base / 'build' / version / f'{m}.tar.gz', version=version,
                            jetson_model=m, sources=sources)
               for m in (*engines_for, 'generic')]
    writer.publish(bundles)
    return bundles


def raw_bundle(path: Path, version: str, members: list[tuple[tarfile.TarInfo, bytes | None]],
               *, extracted_size: int = 1 << 20) -> BundleInfo:
    """A hand-made (hostile) tar.gz published as if it were a real bundle."""
    with tarfile.open(path, 'w:gz') as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    data = path.read_bytes()
    return BundleInfo(path=path, version=version, jetson_model='generic', length=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), extracted_size=extracted_size,
                      files=len(members))


def member(name: str, *, data: bytes | None = None, kind: bytes = tarfile.REGTYPE,
           linkname: str = '', size: int | None = None, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    if kind == tarfile.REGTYPE:
        data = data if data is not None else b'x'
        info.size = len(data) if size is None else size
    return info, data


# -- forging metadata as an attacker holding some of the keys would ------------------------

_SER = JSONSerializer(compact=False)


def legit_signer(repo: Path, keys_dir: Path, role: str, index: int = 0) -> CryptoSigner:
    root = Metadata[Root].from_file(str(repo / 'metadata' / 'root.json'))
    authorized = {k: root.signed.keys[k] for k in root.signed.roles[role].keyids}
    return load_role_signers(keys_dir, role, authorized)[index]


def attacker_signer() -> CryptoSigner:
    return CryptoSigner.generate_ed25519()


def load_top(repo: Path) -> tuple[Metadata, Metadata, Metadata]:
    md = repo / 'metadata'
    ts = Metadata[Timestamp].from_file(str(md / 'timestamp.json'))
    snap = Metadata[Snapshot].from_file(str(md / f'{ts.signed.snapshot_meta.version}.snapshot.json'))
    tgt = Metadata[Targets].from_file(
        str(md / f'{snap.signed.meta["targets.json"].version}.targets.json'))
    return tgt, snap, ts


def forge_chain(repo: Path, keys_dir: Path, *,
                mutate_targets: Callable[[Targets], None] | None = None,
                targets_signers: list[CryptoSigner] | None = None,
                snapshot_targets_version: int | None = None,
                timestamp_snapshot_version: int | None = None) -> None:
    """Write new targets (optional), snapshot and timestamp with chosen signers and versions.

    Defaults use the legitimate keys; tests override exactly what the attacker controls.
    """
    md = repo / 'metadata'
    tgt, snap, ts = load_top(repo)
    if mutate_targets is not None or targets_signers is not None:
        if mutate_targets is not None:
            mutate_targets(tgt.signed)
        tgt.signed.version += 1
        tgt.signatures.clear()
        for signer in (targets_signers if targets_signers is not None
                       else [legit_signer(repo, keys_dir, 'targets')]):
            tgt.sign(signer, append=True)
        data = tgt.to_bytes(_SER)
        (md / f'{tgt.signed.version}.targets.json').write_bytes(data)
        snap.signed.meta['targets.json'] = MetaFile(tgt.signed.version, len(data),
                                                    {'sha256': hashlib.sha256(data).hexdigest()})
    if snapshot_targets_version is not None:
        data = (md / f'{snapshot_targets_version}.targets.json').read_bytes()
        snap.signed.meta['targets.json'] = MetaFile(snapshot_targets_version, len(data),
                                                    {'sha256': hashlib.sha256(data).hexdigest()})
    if timestamp_snapshot_version is None:
        snap.signed.version += 1
        snap.sign(legit_signer(repo, keys_dir, 'snapshot'))
        snap_bytes = snap.to_bytes(_SER)
        (md / f'{snap.signed.version}.snapshot.json').write_bytes(snap_bytes)
        snap_version = snap.signed.version
    else:
        snap_version = timestamp_snapshot_version
        snap_bytes = (md / f'{snap_version}.snapshot.json').read_bytes()
    ts.signed.version += 1
    ts.signed.snapshot_meta = MetaFile(snap_version, len(snap_bytes),
                                       {'sha256': hashlib.sha256(snap_bytes).hexdigest()})
    ts.sign(legit_signer(repo, keys_dir, 'timestamp'))
    (md / 'timestamp.json').write_bytes(ts.to_bytes(_SER))


def assert_on_complete_release(robot_root: Path, version: str | None) -> None:
    """``current`` is ``version``, complete and unmixed; no leftovers of other work."""
    current = robot_root / 'current'
    if version is None:
        assert not current.exists() and not current.is_symlink()
    else:
        assert current.is_symlink()
        assert verify_slot(current, hashes=True) == []
        assert (current / 'workspace' / 'lib' / 'jetson_edge' / 'VERSION').read_text() == \
            version + '\n'
        assert (current / 'config' / 'sim.yaml').read_text() == f'release: {version}\n'
    assert not (robot_root / 'journal.json').exists()
    assert not list(robot_root.glob('.*.tmp-*'))
    assert not [p for p in (robot_root / 'slots').iterdir() if p.name.startswith('.staging')]
