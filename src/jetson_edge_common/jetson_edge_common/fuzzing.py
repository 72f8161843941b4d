"""Fuzzing of the parsers of outside bytes, run by the packages' tests.

A fuzz target is a module-level function of one ``bytes`` argument in a test file: it feeds
the bytes to a parser and lets through only the parser's documented error; anything else that
escapes it (IndexError, struct.error, a failed assertion on the result) is a crash.
:func:`run_fuzzer` runs a target for :func:`fuzz_seconds` in a child process, so that a
hang or a blown memory limit ends that process, not the test run; the budget covers the child's
own start-up (instrumenting the target's packages), so a target costs about that long in all:

- with atheris (libFuzzer, coverage-guided: the target's packages are instrumented and inputs
  that reach new edges are kept and mutated further) where it is installed; it is in
  requirements-test.txt for the platforms it has wheels for;
- elsewhere with random mutations of the seeds (bit flips, cuts, insertions, splices), which
  is not coverage-guided and says so in its report.

The seeds come from the packages' own encoders and emulators; a crash input, once the parser is
fixed, goes into the package's ``test/fuzz_corpus/<target>/`` directory, which the fuzzer
starts from and :func:`replay` feeds the target, with the seeds, in a plain test on every run.
A fuzz test is then one call: :func:`assert_no_crash`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import inspect
import os
import random
import re
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

SECONDS_ENV = 'JETSON_EDGE_FUZZ_SECONDS'
DEFAULT_SECONDS = 10.0
#: Longest a single input may take before it counts as a hang.
INPUT_TIMEOUT_S = 10
RSS_LIMIT_MB = 2048
#: Time the child gets beyond its fuzzing budget (interpreter start, imports, instrumentation).
_START_SLACK_S = 120.0
_STARTED = time.monotonic()  # in the child: when it started, for its budget

Target = Callable[[bytes], None]


def fuzz_seconds() -> float:
    """Fuzzing time per target: $JETSON_EDGE_FUZZ_SECONDS, else 10 s."""
    text = os.environ.get(SECONDS_ENV, '')
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f'{SECONDS_ENV}={text!r} is not a number of seconds') from None
    if seconds <= 0:
        raise ValueError(f'{SECONDS_ENV}={text!r} must be positive')
    return seconds


def atheris_available() -> bool:
    return importlib.util.find_spec('atheris') is not None


@dataclass(frozen=True)
class FuzzReport:
    target: str
    engine: str  # 'atheris' (coverage-guided) or 'random-mutation'
    returncode: int
    executions: int
    edges: int | None  # libFuzzer's "cov:" (instrumented edges reached)
    features: int | None  # libFuzzer's "ft:"
    corpus: int | None  # inputs kept by libFuzzer
    crash_input: Path | None
    output: str

    def summary(self) -> str:
        parts = [f'{self.target}: {self.engine}', f'{self.executions} executions']
        if self.edges is not None:
            parts.append(f'{self.edges} edges, {self.features} features, '
                         f'corpus {self.corpus}')
        return ', '.join(parts)

    def failure(self) -> str | None:
        """Why the run failed (crash, hang, memory, nothing run), or None."""
        if self.returncode == 0 and self.executions > 0:
            return None
        saved = ''
        if self.crash_input is not None:
            # The work directory may be gone by the time someone reads a CI log.
            data = self.crash_input.read_bytes()
            inline = f' (base64: {base64.b64encode(data).decode()})' if len(data) <= 4096 else ''
            saved = f'; input saved at {self.crash_input}{inline}'
        crash = self.output.find('=== Uncaught Python exception')
        details = self.output[crash:crash + 4000] if crash >= 0 else self.output[-4000:]
        return (f'{self.summary()}: exit {self.returncode}{saved}. Fix the parser, then add '
                f'the input to the package\'s test/fuzz_corpus/{self.target}/.\n{details}')


def corpus_inputs(test_file: str | Path, target: Target) -> list[Path]:
    """The regression inputs kept for ``target`` beside ``test_file``."""
    directory = _corpus_dir(test_file, target)
    return sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def replay(target: Target, seeds: Iterable[bytes]) -> None:
    """Feed ``target`` each seed and each regression input kept for it beside its test file."""
    kept = [path.read_bytes() for path in corpus_inputs(inspect.getfile(target), target)]
    for data in [*seeds, *kept]:
        target(data)


def assert_no_crash(target: Target, *, seeds: Iterable[bytes], work_dir: Path,
                    instrument: Sequence[str], max_len: int = 4096) -> FuzzReport:
    """:func:`run_fuzzer` for the test's budget, its summary printed; raises AssertionError
    saying why where it found a crash, a hang or ran nothing."""
    report = run_fuzzer(target, seeds=seeds, work_dir=work_dir, instrument=instrument,
                        max_len=max_len)
    print(report.summary())
    failure = report.failure()
    if failure is not None:
        raise AssertionError(failure)
    return report


def run_fuzzer(target: Target, *, seeds: Iterable[bytes], work_dir: Path,
               instrument: Sequence[str], seconds: float | None = None,
               max_len: int = 4096, engine: str | None = None) -> FuzzReport:
    """Fuzz ``target`` (a module-level function) in a child process; see the module doc."""
    seconds = fuzz_seconds() if seconds is None else seconds
    engine = engine or ('atheris' if atheris_available() else 'random-mutation')
    source = Path(inspect.getfile(target)).resolve()
    seed_dir = work_dir / 'seeds'
    kept_dir = work_dir / 'corpus'
    artifacts = work_dir / 'crashes'
    for directory in (seed_dir, kept_dir, artifacts):
        directory.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (seed_dir / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    corpora = [kept_dir, seed_dir]
    regression = _corpus_dir(source, target)
    if regression.is_dir():
        corpora.append(regression)
    command = [sys.executable, '-m', __name__, str(source), target.__name__,
               '--engine', engine, '--instrument', ','.join(instrument), '--',
               f'-max_total_time={max(1, round(seconds))}', f'-max_len={max_len}',
               f'-timeout={INPUT_TIMEOUT_S}', f'-rss_limit_mb={RSS_LIMIT_MB}',
               '-print_final_stats=1', f'-artifact_prefix={artifacts}/',
               *map(str, corpora)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors='replace',
                              timeout=seconds + _START_SLACK_S + 2 * INPUT_TIMEOUT_S)
        returncode, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = -9
        output = f'{_text(exc.stdout)}{_text(exc.stderr)}\nfuzzer still running after ' \
                 f'{exc.timeout:.0f} s: killed (a hang the per-input timeout missed)'
    crashes = sorted(artifacts.iterdir())
    return FuzzReport(
        target=target.__name__, engine=engine, returncode=returncode,
        executions=_stat(output, r'stat::number_of_executed_units:\s*(\d+)') or 0,
        edges=_stat(output, r'\bcov: (\d+)'), features=_stat(output, r'\bft: (\d+)'),
        corpus=_stat(output, r'\bcorp: (\d+)'),
        crash_input=crashes[0] if crashes else None, output=output)


def _corpus_dir(test_file: str | Path, target: Target) -> Path:
    return Path(test_file).resolve().parent / 'fuzz_corpus' / target.__name__


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors='replace')
    return data or ''


def _stat(output: str, pattern: str) -> int | None:
    """The last value libFuzzer printed for a statistic."""
    found = re.findall(pattern, output)
    return int(found[-1]) if found else None


# --- the child process ----------------------------------------------------------------------

def _load_target(source: str, name: str) -> Target:
    spec = importlib.util.spec_from_file_location(f'_fuzz_{Path(source).stem}', source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


def _run_atheris(source: str, name: str, instrument: list[str], libfuzzer_args: list[str]
                 ) -> None:
    import atheris

    if instrument:
        with atheris.instrument_imports(include=instrument):
            target = _load_target(source, name)
    else:  # an empty include list would instrument every module imported
        target = _load_target(source, name)
    atheris.Setup([sys.argv[0], *_less_start_up(libfuzzer_args)], target)
    atheris.Fuzz()


def _less_start_up(libfuzzer_args: list[str]) -> list[str]:
    """``-max_total_time`` less the seconds this process has run (at least one second left)."""
    spent = time.monotonic() - _STARTED
    return [f'-max_total_time={max(1, round(int(arg.split("=", 1)[1]) - spent))}'
            if arg.startswith('-max_total_time=') else arg for arg in libfuzzer_args]


def _mutate(data: bytes, rng: random.Random, pool: list[bytes], max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        at = rng.randrange(len(out) + 1)
        if kind == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[min(at, len(out) - 1)] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif kind == 2:
            del out[at:at + rng.randint(1, 64)]
        elif kind == 3:
            out[at:at] = rng.randbytes(rng.randint(1, 16))
        else:
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            out[at:] = other[cut:]
    return bytes(out[:max_len])


def _run_random(source: str, name: str, libfuzzer_args: list[str]) -> None:
    """Random mutation of the seeds for the time budget; same flags and output as libFuzzer."""
    options = dict(arg[1:].split('=', 1) for arg in _less_start_up(libfuzzer_args) if arg.startswith('-'))
    directories = [Path(arg) for arg in libfuzzer_args if not arg.startswith('-')]
    pool = [p.read_bytes() for d in directories for p in sorted(d.iterdir()) if p.is_file()]
    pool = pool or [b'']
    target = _load_target(source, name)
    rng = random.Random(int(options.get('seed', time.time_ns() & 0xFFFF)))
    deadline = time.monotonic() + float(options['max_total_time'])
    max_len = int(options.get('max_len', 4096))
    runs = 0
    data = b''
    try:
        for data in pool:
            target(data)
            runs += 1
        while time.monotonic() < deadline:
            data = _mutate(rng.choice(pool), rng, pool, max_len)
            target(data)
            runs += 1
    except Exception:  # the crash this engine exists to find: report it and keep the input
        traceback.print_exc()
        path = Path(options['artifact_prefix'] + 'crash-' + hashlib.sha1(data).hexdigest())
        path.write_bytes(data)
        print(f'stat::number_of_executed_units: {runs + 1}\ncrash input: {path}', flush=True)
        sys.exit(1)
    print(f'stat::number_of_executed_units: {runs}', flush=True)


def main(argv: list[str] | None = None) -> None:
    """``SOURCE TARGET --engine E [--instrument PKG,...] -- LIBFUZZER_ARGS...``"""
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index('--') if '--' in argv else len(argv)
    parser = argparse.ArgumentParser(description='Run one fuzz target (see run_fuzzer).')
    parser.add_argument('source')
    parser.add_argument('target')
    parser.add_argument('--engine', choices=('atheris', 'random-mutation'), required=True)
    parser.add_argument('--instrument', default='')
    args = parser.parse_args(argv[:split])
    libfuzzer_args = argv[split + 1:]
    if args.engine == 'atheris':
        _run_atheris(args.source, args.target, [p for p in args.instrument.split(',') if p],
                     libfuzzer_args)
    else:
        _run_random(args.source, args.target, libfuzzer_args)


if __name__ == '__main__':
    main()
