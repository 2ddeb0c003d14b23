"""The names of the kit-less env's physics backends: the values of ``--physics`` / ``env.physics_backend``.

Their own module, with no imports, so the light chooser (:mod:`.physics_select`, read by every command line) and the
backend itself (:mod:`.mujoco_cpu`, which loads Isaac Lab) both name them without importing each other."""

#: ``--physics`` / ``env.physics_backend`` values
PHYSICS_BACKENDS = ("mujoco-warp", "mujoco-cpu")
#: ``env.physics_backend`` default: the backend follows the device (``physics_select.resolve_backend``)
PHYSICS_AUTO = "auto"
