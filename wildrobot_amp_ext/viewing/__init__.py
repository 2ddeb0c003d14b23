"""Viewing: motions and rollouts shown on the robot (MuJoCo video or window, browser lanes, play's video).

* :mod:`~wildrobot_amp_ext.viewing.viewer`: the motion viewer (lanes x rounds of clips, highlights, video / window)
* :mod:`~wildrobot_amp_ext.viewing.cli`: ``wildrobot-view``, the viewer's command line
* :mod:`~wildrobot_amp_ext.viewing.scene`, :mod:`~wildrobot_amp_ext.viewing.overlay`: its MuJoCo scene and text overlay
* :mod:`~wildrobot_amp_ext.viewing.sources`: motion sets the viewer reads (GMR pickles, dataset / segments / rollouts)
* :mod:`~wildrobot_amp_ext.viewing.web`, :mod:`~wildrobot_amp_ext.viewing.lanes`: lanes served to a browser (viser)
* :mod:`~wildrobot_amp_ext.viewing.gl`: the headless GL backend choice
* :mod:`~wildrobot_amp_ext.viewing.playback`: play's loop in a window or headless, and its video

Submodules import MuJoCo / torch / Isaac Lab lazily; import what you need from them.
"""
