"""Parameter schema of the power manager node.

The board's layout is the profile's ``hardware:`` section, which the plan hands over as
``layout_file``; the policy's defaults are here, and a profile sets what its model needs
(thresholds, fan, power mode). The core configuration is built from these values
(:mod:`jetson_edge_power.settings`), for the node and the closed-loop test alike.
"""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

LAYOUT_FILE_HELP = ('YAML file with the board\'s hardware layout, shaped as a profile\'s '
                    'hardware: section (the plan writes the profile\'s; a custom carrier board '
                    'brings its own). Empty: the layout of the profile the device tree under '
                    'sysfs_root picks')

MANAGER_SPECS = [
    ParamSpec('layout_file', '', LAYOUT_FILE_HELP, read_only=True),
    ParamSpec('sysfs_root', '/', 'Directory standing in for / when reading sysfs (the sim '
              'profile points it at the thermal model\'s tree)', read_only=True),
    ParamSpec('sample_rate_hz', 2.0, 'Sampling and policy rate', min_value=0.1, max_value=50.0,
              read_only=True),
    ParamSpec('stale_after_periods', 10, 'Report ERROR when no board temperature was read '
              'from sysfs for this many sample periods (a vanished zone, a stalled loop)',
              min_value=1, max_value=1000, read_only=True),
    ParamSpec('diagnostics_rate_hz', 2.0, 'Rate of /diagnostics', min_value=0.1,
              max_value=50.0, read_only=True),
    ParamSpec('actuator_backend', 'system', 'system: run nvpmodel/jetson_clocks; sim: emulate '
              'them over sysfs_root (thermal model); dry_run: only log what would run',
              choices=('system', 'sim', 'dry_run'), read_only=True),
    ParamSpec('nvpmodel_command', ['nvpmodel'], 'Command running nvpmodel (prefix with sudo -n '
              'when the node is not root)', read_only=True),
    ParamSpec('jetson_clocks_command', ['jetson_clocks'], 'Command running jetson_clocks',
              read_only=True),
    ParamSpec('jetson_clocks_store', '/tmp/jetson_edge_l4t_dfs.conf', 'Where jetson_clocks '
              '--store keeps the DVFS settings that --restore returns to', read_only=True),
    ParamSpec('policy_enabled', True, 'Act on the policy (off: monitor and report only)',
              dynamic=True),
    ParamSpec('power_mode', -1, 'nvpmodel mode id the policy runs in when cool (-1: the '
              'layout\'s default mode); setting it switches the mode now', min_value=-1,
              max_value=99, dynamic=True),
    ParamSpec('mode_ladder', [], 'Mode ids the policy steps along, highest budget first '
              '(empty: the layout\'s ladder)', dynamic=True, item_type=int),
    ParamSpec('low_power_mode', -1, 'Mode used while the battery is low (-1: the ladder\'s '
              'last)', min_value=-1, max_value=99, dynamic=True),
    ParamSpec('jetson_clocks', 'unchanged', 'Lock clocks at the mode\'s maximum (on), return '
              'to dynamic scaling (restore) or leave them', choices=('unchanged', 'on',
                                                                      'restore'), dynamic=True),
    ParamSpec('warm_c', 70.0, 'WARM from this temperature (hottest policy zone)',
              min_value=30.0, max_value=110.0, dynamic=True),
    ParamSpec('hot_c', 80.0, 'HOT from this temperature', min_value=30.0, max_value=110.0,
              dynamic=True),
    ParamSpec('critical_c', 90.0, 'CRITICAL from this temperature; keep it below the SoC\'s '
              'own throttling point', min_value=30.0, max_value=110.0, dynamic=True),
    ParamSpec('hysteresis_c', 5.0, 'A level is left this far below its threshold',
              min_value=0.5, max_value=20.0, dynamic=True),
    ParamSpec('min_dwell_s', 5.0, 'Least time between two policy changes', min_value=0.0,
              max_value=600.0, dynamic=True),
    ParamSpec('step_up_dwell_s', 30.0, 'Time spent NOMINAL before each step back up',
              min_value=0.0, max_value=3600.0, dynamic=True),
    ParamSpec('fan_pwm_nominal', -1, 'Fan PWM when NOMINAL (-1: leave the fan to the board\'s '
              'own control)', min_value=-1, max_value=255, dynamic=True),
    ParamSpec('fan_pwm_warm', 160, 'Fan PWM when WARM (-1: leave it)', min_value=-1,
              max_value=255, dynamic=True),
    ParamSpec('fan_pwm_hot', 255, 'Fan PWM when HOT (-1: leave it)', min_value=-1,
              max_value=255, dynamic=True),
    ParamSpec('fan_pwm_critical', 255, 'Fan PWM when CRITICAL (-1: leave it)', min_value=-1,
              max_value=255, dynamic=True),
    ParamSpec('perception_node', 'perception', 'Node whose load level the policy sets '
              '(empty: never ask perception)', read_only=True),
    ParamSpec('perception_load_param', 'load_level', 'Name of that node\'s load-level parameter '
              '(0..1, a share of the rate it runs at when unloaded; 1 when NOMINAL)',
              read_only=True),
    ParamSpec('rate_scale_warm', 0.75, 'Load level asked of perception when WARM',
              min_value=0.01, max_value=1.0, dynamic=True),
    ParamSpec('rate_scale_hot', 0.5, 'Load level asked of perception when HOT',
              min_value=0.01, max_value=1.0, dynamic=True),
    ParamSpec('rate_scale_critical', 0.25, 'Load level asked of perception when CRITICAL',
              min_value=0.01, max_value=1.0, dynamic=True),
    ParamSpec('battery_topic', 'battery_state', 'sensor_msgs/BatteryState input (empty: none)',
              read_only=True),
    ParamSpec('battery_low_pct', 20.0, 'Below this charge: low-power mode', min_value=0.0,
              max_value=100.0, dynamic=True),
    ParamSpec('battery_recover_pct', 25.0, 'Above this charge: leave low-power mode',
              min_value=0.0, max_value=100.0, dynamic=True),
    ParamSpec('battery_timeout_s', 30.0, 'A battery reading older than this is ignored',
              min_value=1.0, max_value=3600.0, read_only=True),
    ParamSpec('mem_warn_fraction', 0.85, 'Memory in use above this share: WARN and shed load',
              min_value=0.1, max_value=1.0, dynamic=True),
    ParamSpec('mem_error_fraction', 0.95, 'Memory in use above this share: ERROR',
              min_value=0.1, max_value=1.0, dynamic=True),
    ParamSpec('suite_mem_warn_mb', 0, 'Suite processes together above this resident memory: '
              'WARN and shed load (0: off)', min_value=0, max_value=1_000_000, dynamic=True),
    ParamSpec('suite_mem_error_mb', 0, 'Suite processes above this: ERROR (0: off)',
              min_value=0, max_value=1_000_000, dynamic=True),
    ParamSpec('suite_process_pattern', 'jetson_edge', 'Command-line substring that marks the '
              'suite\'s processes (their memory is reported; empty: off)', read_only=True),
    ParamSpec('tegrastats_interval_ms', 0, 'Run tegrastats at this interval as a second source '
              'reported under tegrastats.* (0: off)', min_value=0, max_value=60000,
              read_only=True),
    ParamSpec('tegrastats_command', ['tegrastats'], 'Command running tegrastats',
              read_only=True),
    ParamSpec('use_nvml', True, 'Also read discrete NVIDIA GPUs through NVML', read_only=True),
    ParamSpec('prometheus_port', 0, 'Port of the Prometheus /metrics endpoint (0: off)',
              min_value=0, max_value=65535, read_only=True),
    ParamSpec('prometheus_address', '0.0.0.0', 'Address the Prometheus endpoint binds',
              read_only=True),
    ParamSpec('action_retry_s', 30.0, 'A failed action is retried after this long',
              min_value=1.0, max_value=3600.0, read_only=True),
]
