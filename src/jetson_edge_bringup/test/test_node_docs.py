from pathlib import Path

import pytest

from jetson_edge_bringup import node_docs

README = Path(__file__).resolve().parents[3] / 'README.md'


def test_readme_node_tables_match_the_parameter_declarations():
    if not README.is_file():
        pytest.skip('README.md not found beside the source tree (installed package)')
    assert node_docs.check(README), (
        'README node tables are stale: run `jetson-edge docs --write README.md`')


def test_rendered_tables_cover_every_catalogued_node_with_a_schema():
    text = node_docs.render()
    for package, executable, specs in node_docs.node_schemas():
        assert f'### `{executable}` ({package})' in text
        for spec in specs:
            assert f'| `{spec.name}` |' in text


def test_splice_needs_the_markers():
    with pytest.raises(ValueError, match='no'):
        node_docs.splice('no markers here', node_docs.render())
