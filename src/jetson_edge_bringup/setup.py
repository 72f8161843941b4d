from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

package_name = 'jetson_edge_bringup'


def share_tree(top: str) -> list[tuple[str, list[str]]]:
    """data_files entries installing every file under ``top`` into the package's share.

    ``config`` and ``launch`` here are links to the repository's top-level folders (their one
    home), so a build installs the profiles, model cards, labels and the launch file.
    """
    files = sorted(p for p in glob(f'{top}/**/*', recursive=True) if Path(p).is_file())
    folders = sorted({str(Path(f).parent) for f in files})
    return [(f'share/{package_name}/{folder}', [f for f in files if str(Path(f).parent) == folder])
            for folder in folders]


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        *share_tree('config'),
        *share_tree('launch'),
    ],
    install_requires=['setuptools', 'pyyaml'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Profiles to launch plan, process supervisor and the jetson-edge command.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'suite_monitor = jetson_edge_bringup.params:SUITE_MONITOR',
        ],
        'jetson_edge.nodes': [
            'suite_monitor = jetson_edge_bringup.suite_monitor_node:SuiteMonitorNode',
        ],
        'console_scripts': [
            'jetson-edge = jetson_edge_bringup.cli:main',
            'node_runner = jetson_edge_bringup.node_runner:main',
            'node_container = jetson_edge_bringup.node_container:main',
            'suite_monitor = jetson_edge_bringup.suite_monitor_node:main',
        ],
    },
)
