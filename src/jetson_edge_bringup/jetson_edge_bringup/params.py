"""Parameter schema of the suite monitor (declared once, checked by profiles too)."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

from .suite_monitor import MonitorConfig

_D = MonitorConfig()

SUITE_MONITOR = [
    ParamSpec('plan_file', '', 'The watched nodes (names, runner status files, expected topics '
              'with type, rate floor and QoS); written by the plan (write_parameter_files).',
              read_only=True),
    ParamSpec('silence_s', _D.silence_s, 'A node whose /diagnostics or expected topic is '
              'silent this long is an ERROR (hung, stopped or dead).', min_value=0.2,
              max_value=60.0),
    ParamSpec('missed_periods', _D.missed_periods, 'A topic slower than 1/silence_s is silent '
              'after this many periods of its rate floor.', min_value=1.0, max_value=100.0),
    ParamSpec('rate_window_s', _D.rate_window_s, 'Window of the measured topic rates.',
              min_value=1.0, max_value=120.0),
    ParamSpec('rate_share', _D.rate_share, 'A topic measured below this share of the plan\'s '
              'rate_hz is a WARN.', min_value=0.1, max_value=1.0),
    ParamSpec('startup_grace_s', _D.startup_grace_s, 'Time a (re)started node has to be heard '
              'from before its silence is an ERROR.', min_value=1.0, max_value=600.0),
    ParamSpec('restart_hold_s', _D.restart_hold_s, 'How long a restart stays a WARN.',
              min_value=0.0, max_value=3600.0),
    ParamSpec('check_period_s', 0.25, 'Period of the checks; a change of level is published '
              'at once.', min_value=0.05, max_value=5.0),
    ParamSpec('publish_period_s', 1.0, 'Period of /diagnostics_agg and /diagnostics when '
              'nothing changes.', min_value=0.1, max_value=60.0),
    ParamSpec('aggregate_topic', '/diagnostics_agg', 'Where the per-node and per-topic '
              'aggregate goes (diagnostic_msgs/DiagnosticArray, for rqt_robot_monitor).'),
]
