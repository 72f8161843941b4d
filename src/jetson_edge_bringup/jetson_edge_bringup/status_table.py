"""The status view drawn with ``rich``: a header line, the vitals, the nodes, the topics.

Pure (no rclpy). The same renderable serves the live view and ``--once``; without a terminal
rich writes it as plain text, which is what a script reads: one row per line, the columns
separated by spaces, the level a word (OK, WARN, ERROR, STALE).
"""

from __future__ import annotations

import time

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from jetson_edge_bringup.status_view import StatusView
from jetson_edge_common.diagnostics import Level

STYLES = {Level.OK: 'green', Level.WARN: 'yellow', Level.ERROR: 'bold red', Level.STALE: 'dim'}


def level_text(level: Level) -> Text:
    return Text(level.name, style=STYLES[level])


def render(view: StatusView, *, wall_time: float | None = None) -> Group:
    stamp = time.strftime('%H:%M:%S', time.localtime(time.time() if wall_time is None
                                                     else wall_time))
    header = Text.assemble(('jetson-edge status', 'bold'), f'  profile {view.profile}  ',
                           level_text(view.level), f'  {view.message}\n',
                           f'refresh {view.refresh} at {stamp}, '
                           f'{view.age_s:.0f} s since the first message', style='')
    parts = [header]
    parts += [Text(f'note: {note}', style='yellow') for note in view.notes]

    vitals = Table(box=box.SIMPLE_HEAD, show_edge=False, title='vitals', title_justify='left')
    vitals.add_column('what')
    vitals.add_column('level')
    vitals.add_column('value')
    for vital in view.vitals:
        vitals.add_row(vital.label, level_text(vital.level), vital.value)
    if view.vitals:
        parts.append(vitals)

    nodes = Table(box=box.SIMPLE_HEAD, show_edge=False, title='nodes', title_justify='left')
    nodes.add_column('node')
    nodes.add_column('level')
    nodes.add_column('message', overflow='fold')
    for row in view.nodes:
        nodes.add_row(row.key, level_text(row.level), row.message)
    parts.append(nodes)

    topics = Table(box=box.SIMPLE_HEAD, show_edge=False, title='topics (rate against the plan)',
                   title_justify='left')
    topics.add_column('topic')
    topics.add_column('level')
    topics.add_column('rate Hz', justify='right')
    topics.add_column('floor Hz', justify='right')
    topics.add_column('qos')
    topics.add_column('from')
    for row in view.topics:
        topics.add_row(row.topic, level_text(row.level),
                       '-' if row.rate_hz is None else f'{row.rate_hz:.1f}',
                       f'{row.floor_hz:g}', row.qos, row.node_key)
    if view.topics:
        parts.append(topics)
    return Group(*parts)
