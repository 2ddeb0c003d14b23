"""Installation script for wildrobot_amp_ext (Isaac Lab extension style)."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    # Isaac Lab 3.0 brings its own torch / warp / newton / mujoco pins: accept them.
    "isaaclab==3.0.0",
    "skrl==2.1.1",
    "mujoco==3.12.0",
    "mujoco-usd-converter==0.6.1",
    "numpy>=2.0",
    "pyyaml==6.0.3",
    "hydra-core==1.3.8",
    "tqdm==4.70.1",
    "matplotlib==3.11.2",
    "imageio==2.38.1",
    "imageio-ffmpeg==0.8.1",
    "tensorboard==2.21.0",
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
    "onnxscript==0.7.2",
    # wildrobot-retarget: mink IK (brings qpsolvers[daqp]); smplx reads AMASS through a user-supplied body model
    # (torch is already here, so it costs nothing to keep in the core set: the SMPL-X source works out of the box)
    "mink==1.3.0",
    "smplx==0.1.28",
]

#: the data-side commands (train_amp.py and play.py stay scripts at the repo root, as Isaac Lab's do)
CONSOLE_SCRIPTS = [
    "wildrobot-convert = wildrobot_amp_ext.dataset.convert:main",
    "wildrobot-verify = wildrobot_amp_ext.dataset.verify:main",
    "wildrobot-analyze = wildrobot_amp_ext.dataset.analyze:main",
    "wildrobot-mine = wildrobot_amp_ext.mine:main",
    "wildrobot-view = wildrobot_amp_ext.viewing.cli:main",
    "wildrobot-export = wildrobot_amp_ext.deploy.export:main",
    "wildrobot-evaluate = wildrobot_amp_ext.play:evaluate_main",
    "wildrobot-sim2sim = wildrobot_amp_ext.evaluation.robustness:main",
    "wildrobot-retarget = wildrobot_amp_ext.retarget.cli:main",
]

setup(
    name="wildrobot_amp_ext",
    version="0.1.0",
    description="Adversarial Motion Priors for humanoids on Isaac Lab + skrl, from GMR retargeted motions",
    python_requires=">=3.12,<3.13",
    packages=find_packages(include=["wildrobot_amp_ext", "wildrobot_amp_ext.*"]),
    package_data={"wildrobot_amp_ext": ["robots/data/*/*"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # viser: the browser viewer (Isaac Lab 3.0's own viser pin); in dev so the headless-browser test runs in CI
        # ray: the miner's --executor ray (a 6 s install); in dev so its pool-equality test runs in CI
        # wandb: train_amp --wandb; in dev so the offline W&B run test runs in CI
        # import-linter: the layer contract (.importlinter), checked by tests/test_layers.py
        "dev": ["pytest==9.2.0", "ruff==0.17.6", "import-linter==2.16", "viser>=1.0.16", "ray>=2.9", "wandb"],
        "viser": ["viser>=1.0.16"],
        "rerun": ["rerun-sdk>=0.29.0"],
        "ray": ["ray>=2.9"],
        "wandb": ["wandb"],
    },
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
    license="Apache-2.0",
    zip_safe=False,
)
