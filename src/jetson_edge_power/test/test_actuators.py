"""nvpmodel, jetson_clocks and fan actuators: commands per model, read-back, clear errors."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boards
import jetson_edge_common
import jetson_edge_power
import pytest

from jetson_edge_power.actuators import (FanActuator, JetsonClocksActuator, NvpmodelActuator,
                                         load_tool_backend, parse_nvpmodel_query)
from jetson_edge_power.errors import (ActuatorError, BinaryNotFoundError,
                                      PermissionDeniedError, ReadBackMismatchError)
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.policy import PolicyInputs, ThermalPolicy
from jetson_edge_power.settings import policy_config
from jetson_edge_power.sysfs import SysfsRoot


def layout(profile, *, root='/'):
    return layout_of(profile, root=root)[0]


def jetpack_61_root(tmp_path):
    """A root whose release file says L4T 36.4.0 (JetPack 6.1)."""
    (tmp_path / 'jp61/etc').mkdir(parents=True)
    (tmp_path / 'jp61/etc/nv_tegra_release').write_text(
        '# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64\n')
    return tmp_path / 'jp61'


def hot_policy_modes(lay):
    """The nvpmodel ids a policy on layout ``lay`` sends while heating from cool to critical."""
    ladder = tuple(m.id for m in lay.ladder())
    defaults = {s.name: s.default for s in MANAGER_SPECS}
    policy = ThermalPolicy(policy_config({**defaults, 'power_mode': ladder[0]}, lay))
    actuator = NvpmodelActuator(lay, dry_run=True)
    applied = None
    for now, temp in [(0, 50), (10, 81), (20, 85), (30, 95)]:
        mode = policy.update(PolicyInputs(now=now, max_temp_c=temp)).power_mode
        if mode != applied:
            actuator.set_mode(mode)
            applied = mode
    return [argv[-1] for argv in actuator.history]


# a profile name with _jp61: that profile on a board running JetPack 6.1
@pytest.mark.parametrize('model, expected', [
    ('orin_nano', ['2', '1', '0', '3']),        # MAXN_SUPER -> 25W -> 15W -> 7W
    ('orin_nano_jp61', ['0', '1']),              # 15W -> 7W
    ('orin_nx', ['0', '4', '3', '1']),          # MAXN_SUPER -> 40W -> 25W -> (critical) 10W
    ('agx_orin', ['0', '3', '2', '1']),         # MAXN -> 50W -> 30W -> 15W
    ('xavier_nx', ['8', '2', '4']),             # 20W 6-core -> 15W 6-core -> 10W 4-core
    ('orin_nx_jp61', ['0', '3', '2', '1']),     # MAXN -> 25W -> 15W -> 10W
    ('jetson_nano', ['0', '1']),                # MAXN -> 5W
    ('jetson_tx2', ['0', '3', '1']),            # MAXN -> MAXP_CORE_ARM -> MAXQ
])
def test_policy_issues_the_right_mode_ids_per_model(model, expected, tmp_path):
    profile, jp61, _ = model.partition('_jp61')
    lay = layout(profile, root=jetpack_61_root(tmp_path) if jp61 else tmp_path)
    assert hot_policy_modes(lay) == expected


def test_dry_run_records_the_exact_command_and_runs_nothing():
    actuator = NvpmodelActuator(layout('agx_orin'), command=('sudo', '-n', 'nvpmodel'),
                                dry_run=True, runner=_must_not_run)
    result = actuator.set_mode(3)
    assert result.dry_run and result.command == ('sudo', '-n', 'nvpmodel', '-m', '3')
    assert 'MODE_50W' in result.message


def _must_not_run(argv, timeout):
    raise AssertionError(f'dry run executed {argv}')


def test_unknown_mode_lists_the_known_ones():
    with pytest.raises(ActuatorError, match='0=MAXN, 1=5W'):
        NvpmodelActuator(layout('jetson_nano'), dry_run=True).set_mode(4)


def test_missing_binary_says_what_to_install():
    actuator = NvpmodelActuator(layout('orin_nano'), command=('/nonexistent/nvpmodel',))
    with pytest.raises(BinaryNotFoundError, match='nvidia-l4t-tools'):
        actuator.set_mode(0)


def test_permission_refusal_says_how_to_grant_it(tmp_path):
    script = tmp_path / 'nvpmodel'
    script.write_text('#!/bin/sh\necho "NVPM ERROR: failed to open /sys/devices/gpu.0/'
                      'power/control: Permission denied" >&2\nexit 255\n')
    script.chmod(0o755)
    with pytest.raises(PermissionDeniedError, match='sudoers'):
        NvpmodelActuator(layout('orin_nano'), command=(str(script),)).set_mode(0)


@pytest.mark.parametrize('output, expected', [
    ('NV Power Mode: MAXN_SUPER\n2\n', (2, 'MAXN_SUPER')),
    ('NVPM WARN: fan mode is not set!\nNV Power Mode: 15W\n0\n', (0, '15W')),
    ('NV Fan Mode:quiet\nNV Power Mode: MODE_30W\n2\n', (2, 'MODE_30W')),
])
def test_parse_nvpmodel_query(output, expected):
    assert parse_nvpmodel_query(output) == expected


def test_mode_that_does_not_stick_is_reported(tmp_path):
    def runner(argv, timeout):
        out = 'NV Power Mode: 15W\n0\n' if '-q' in argv else ''
        return subprocess.CompletedProcess(argv, 0, out, '')
    actuator = NvpmodelActuator(layout('orin_nano'), runner=runner)
    with pytest.raises(ReadBackMismatchError, match='reports 0'):
        actuator.set_mode(3)


def test_an_actuator_backend_no_package_installs_is_a_clear_error():
    with pytest.raises(ActuatorError, match="backend 'nowhere' is not installed .*jetson_edge_sim"):
        load_tool_backend('nowhere')


def test_jetson_clocks_restore_without_store_is_refused():
    clocks = JetsonClocksActuator(runner=_must_not_run)
    with pytest.raises(ActuatorError, match='nothing to restore'):
        clocks.restore()


def test_fan_write_and_read_back(tmp_path):
    boards.orin_nano(tmp_path)
    fan = FanActuator(layout('orin_nano'), SysfsRoot(tmp_path))
    assert fan.set_pwm(200).ok
    assert (tmp_path / 'sys/devices/platform/pwm-fan/hwmon/hwmon2/pwm1').read_text() == '200\n'
    with pytest.raises(ActuatorError, match='outside 0..255'):
        fan.set_pwm(300)


def test_legacy_fan_writes_target_and_reads_cur(tmp_path):
    boards.jetson_nano(tmp_path)
    fan = FanActuator(layout('jetson_nano'), SysfsRoot(tmp_path))
    # cur_pwm lags target_pwm on the real board; here nothing updates it: read-back differs.
    with pytest.raises(ReadBackMismatchError, match='nvfancontrol'):
        fan.set_pwm(120)
    assert (tmp_path / 'sys/devices/pwm-fan/target_pwm').read_text() == '120\n'


def test_fan_absent_is_a_clear_error(tmp_path):
    with pytest.raises(ActuatorError, match='no fan control file'):
        FanActuator(layout('orin_nano'), SysfsRoot(tmp_path)).set_pwm(100)


def test_fan_permission_denied_as_unprivileged_user(tmp_path):
    boards.orin_nano(tmp_path)
    pwm = tmp_path / 'sys/devices/platform/pwm-fan/hwmon/hwmon2/pwm1'
    pwm.chmod(0o444)
    for parent in [tmp_path, *tmp_path.parents]:
        if parent == parent.parent:
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o005)
    # The checkout may sit in a directory the unprivileged user cannot enter: give it a copy
    # of the pure core (standard library only) beside the board tree.
    code_dir = tmp_path / 'code'
    for package in (jetson_edge_power, jetson_edge_common):
        shutil.copytree(Path(package.__file__).parent, code_dir / package.__name__,
                        ignore=shutil.ignore_patterns('__pycache__'))
    for path in [code_dir, *code_dir.rglob('*')]:
        os.chmod(path, os.stat(path).st_mode | 0o005)
    code = (f'import sys; sys.path[:0] = [{str(code_dir)!r}]\n'
            'from jetson_edge_power.actuators import FanActuator\n'
            'from jetson_edge_power.errors import PermissionDeniedError\n'
            'from jetson_edge_power.layout import layout_from_dict\n'
            'from jetson_edge_power.sysfs import SysfsRoot\n'
            'try:\n'
            '    fan = {"pwm": "/sys/devices/platform/pwm-fan/hwmon/hwmon*/pwm1"}\n'
            f'    FanActuator(layout_from_dict({{"fan": fan}})[0], '
            f'SysfsRoot({str(tmp_path)!r})).set_pwm(255)\n'
            'except PermissionDeniedError as exc:\n'
            '    print("DENIED", exc)\n')
    argv = [sys.executable, '-c', code]
    if os.geteuid() == 0:
        argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] + argv
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith('DENIED'), proc.stderr
    assert 'udev rule' in proc.stdout
    assert pwm.read_text() == '77\n'
