"""lth-jax: the Lottery Ticket Hypothesis in JAX/Flax."""
import setuptools

setuptools.setup(
    name='lth_jax',
    version='0.1.0',
    description=('Lottery Ticket Hypothesis research in JAX/Flax: pure pruning '
                 'functions, masked jitted training, IMP with rewinding.'),
    packages=setuptools.find_packages(include=['lth_jax', 'lth_jax.*']),
    python_requires='>=3.10',
    install_requires=[
        # Ranges tested on CPU (jax 0.10.2, flax 0.12.8, optax 0.2.8,
        # orbax-checkpoint 0.12.8, ml-collections 1.1.0, numpy 2.4.6).
        'jax>=0.7,<0.11',
        'flax>=0.11,<0.13',
        'optax>=0.2.4,<0.3',
        'orbax-checkpoint>=0.11,<0.13',
        'ml-collections>=1.0,<1.2',
        'absl-py>=2.1,<3',
        'numpy>=1.26,<2.5',
        'matplotlib>=3.8,<3.12',
        # Imported lazily by the data pipeline where a download is possible;
        # tensorflow-datasets needs importlib_resources at import time.
        'tensorflow-datasets>=4.9.6,<4.10',
        'importlib_resources>=6',
        # Live scalars as TensorBoard event files, without TensorFlow.
        'tensorboardX>=2.6,<3',
        # Ticket structure: graphs of masks (networkx) and the moons +
        # circles data (scikit-learn).
        'networkx>=3.2,<4',
        'scikit-learn>=1.4,<2',
        # Verdicts over replicates: Student t intervals.
        'scipy>=1.11,<2',
    ],
    extras_require={
        # TensorFlow is only needed to *build* a data set through tfds.
        'tfds': ['tensorflow-cpu>=2.18,<2.22'],
        'test': ['pytest>=8,<10', 'pytest-xdist>=3.5,<4',
                 'tensorflow-cpu>=2.18,<2.22'],
        'bench': ['torch==2.13.0'],  # the version benchmarked (CPU build)
    },
)
