"""AMP reference datasets: conversion from motion files, the ``.npz`` schema, verification and analysis.

    from wildrobot_amp_ext.dataset import build_dataset, save_dataset, load_dataset
    ds = build_dataset(clips, robot, FeatureSpec(), target_fps=50.0)   # clips from motion.load_motion
    save_dataset("ref.npz", ds)

See :mod:`.schema` for the file layout, :mod:`.convert` for the pipeline, :mod:`.verify` and :mod:`.analyze`.
"""

from wildrobot_amp_ext.dataset.convert import ConvertConfig, build_dataset, convert_files, features_from_states
from wildrobot_amp_ext.dataset.schema import SCHEMA, ReferenceDataset, export_merged_pkl, load_dataset, save_dataset

__all__ = [
    "SCHEMA",
    "ConvertConfig",
    "ReferenceDataset",
    "build_dataset",
    "convert_files",
    "export_merged_pkl",
    "features_from_states",
    "load_dataset",
    "save_dataset",
]
