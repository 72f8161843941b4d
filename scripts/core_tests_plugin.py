"""pytest plugin for the pure-core run without ROS 2 (scripts/test-jetpack-python.sh).

The rule: a test module that cannot be imported, or a test that stops, because a ROS 2 package is
not installed (rclpy, rosidl_*, ament_*, launch*, *_msgs, *_srvs, *_interfaces) is skipped, naming
the missing package; so are the few tests in `NEEDS_MORE`, for the reason given there. Any other
import error fails the run. At the end every package's test folder must have passed at
least one test (the script runs one pytest per package), so a run that skipped a whole package
fails too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_ROS_PREFIXES = ('rclpy', 'rosidl_', 'ament_', 'launch')
_ROS_SUFFIXES = ('_msgs', '_srvs', '_interfaces')


def _is_ros_package(module: str) -> bool:
    top = module.split('.')[0]
    return top.startswith(_ROS_PREFIXES) or top.endswith(_ROS_SUFFIXES)


# Tests that need what this venv cannot give, though they import no ROS package.
NEEDS_MORE = {
    'test_cli.py::test_doctor_reports_ros_and_runtimes': 'doctor lists the RMW only where rclpy imports',
    'test_actuators.py::test_fan_permission_denied_as_unprivileged_user':
        'runs this interpreter as nobody, who cannot read a Python installed under /root',
}


def _missing_ros_package(exc: BaseException | None) -> str | None:
    if isinstance(exc, ModuleNotFoundError) and exc.name and _is_ros_package(exc.name):
        return exc.name
    return None


class _CoreModule(pytest.Module):
    def _getobj(self):
        try:
            return super()._getobj()
        except self.CollectError as exc:
            missing = _missing_ros_package(exc.__cause__)
            if missing:
                pytest.skip(f'{self.path.name} needs ROS 2 ({missing} is not installed)', allow_module_level=True)
            raise


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if module_path.name == 'conftest.py':
        return None
    return _CoreModule.from_parent(parent, path=module_path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = NEEDS_MORE.get(item.nodeid.rsplit('/', 1)[-1])
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    missing = _missing_ros_package(call.excinfo.value if call.excinfo else None)
    if missing:
        report = outcome.get_result()
        report.outcome = 'skipped'
        report.longrepr = (str(item.path), item.location[1] or 0, f'Skipped: needs ROS 2 ({missing} is not installed)')


_passed: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == 'call' and report.passed:
        _passed.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _passed:
        reporter = session.config.pluginmanager.get_plugin('terminalreporter')
        if reporter is not None:
            reporter.write_line(f'ERROR: no core test passed in {", ".join(session.config.args)}', red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
