from setuptools import find_packages, setup

package_name = 'jetson_edge_bringup'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools', 'pyyaml'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Profiles to launch plan, process supervisor and the jetson-edge command.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'jetson-edge = jetson_edge_bringup.cli:main',
        ],
    },
)
