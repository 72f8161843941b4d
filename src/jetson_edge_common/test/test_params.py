import pytest

from jetson_edge_common.params import ParamSpec, spec_table, unknown_keys, validate


def test_validate_types_ranges_and_choices():
    rate = ParamSpec('rate', 10.0, 'publish rate', min_value=0.1, max_value=100.0)
    assert validate(rate, 5) is None            # an int is a fine float
    assert 'expected float' in validate(rate, 'fast')
    assert 'above the maximum' in validate(rate, 1000.0)
    mode = ParamSpec('mode', 'strongest', 'return mode', choices=('strongest', 'last', 'dual'))
    assert 'not one of' in validate(mode, 'first')
    flag = ParamSpec('flag', True, 'a flag')
    assert 'expected bool' in validate(flag, 1)
    ids = ParamSpec('ids', [1, 2], 'ids')
    assert validate(ids, []) is None and 'expected int[]' in validate(ids, ['a'])


def test_bad_default_is_refused_at_definition():
    with pytest.raises(ValueError, match="parameter 'x'"):
        ParamSpec('x', 500, 'x', max_value=10)


def test_unknown_keys_and_table():
    specs = [ParamSpec('a', 1, 'first'), ParamSpec('b', 'x', 'second', choices=('x', 'y'))]
    assert unknown_keys(specs, {'a': 1, 'c': 2}) == ['c']
    rows = spec_table(specs)
    assert rows[1]['range'] == 'x | y' and rows[0]['type'] == 'int'
