from setuptools import find_packages, setup

package_name = 'jetson_edge_rt'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools', 'numpy'],
    zip_safe=True,
    maintainer='jetson_edge developers',
    maintainer_email='dev@jetson-edge.org',
    description='Real-time control executor: scheduling set-up, periodic loop, controller plug-ins.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'jetson_edge.parameter_schemas': [
            'rt_executor_node = jetson_edge_rt.params:NODE_SPECS',
        ],
        'jetson_edge.nodes': [
            'rt_executor_node = jetson_edge_rt.node:RtExecutorNode',
        ],
        'console_scripts': [
            'rt_executor_node = jetson_edge_rt.node:main',
        ],
        'jetson_edge.controllers': [
            'balance = jetson_edge_rt.controllers.balance:BalanceController',
        ],
        'jetson_edge.doctor': [
            'rt = jetson_edge_rt.rt_setup:check_capabilities',
        ],
    },
)
