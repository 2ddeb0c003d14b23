"""MuJoCo C as the CPU physics of the kit-less env: one ``MjData`` per env world, stepped on every core.

Why: MuJoCo-Warp on a CPU runs each Warp kernel as one serial loop (warp #339, #1309), so the whole pipeline uses
one core, launch by launch; ``mujoco.mj_step`` on the same robot is ~20x faster per core and releases the GIL.
Newton's own ``SolverMuJoCo(use_mujoco_cpu=True)`` simulates world 0 only (newton 1.6.1), so it is not used.

How it plugs in (no installed package is edited): :class:`MujocoCpuSolverCfg` subclasses Isaac Lab's
``MJWarpSolverCfg`` (its ``isinstance`` checks keep working) and names :class:`NewtonMujocoCpuManager` as its
``class_type``; the manager overrides ``_create_solver`` to build :class:`SolverMujocoCpu`.

The solver is Newton's ``SolverMuJoCo`` built for MuJoCo-Warp (``separate_worlds=True``) whose step is replaced:

* Newton's N-world ``mjw_model`` / ``mjw_data`` stay the staging area: Newton's kernels map controls into
  ``mjw_data.ctrl`` / ``qfrc_applied`` / ``xfrc_applied`` and MuJoCo coordinates back to ``joint_q`` + FK, and
  ``notify_model_changed`` writes every per-world model field (friction, mass, inertia, gains, ...) into
  ``mjw_model`` as it does for the GPU.
* One ``MjData`` per world holds the float64 state between steps. A world's ``qpos`` / ``qvel`` are re-read from
  Newton's float32 ``joint_q`` / ``joint_qd`` only when Isaac Lab wrote them (a reset, a joint/root write, a
  velocity push): detected by comparing ``joint_q`` / ``joint_qd`` with what the last step produced, plus the
  worlds Isaac Lab flags for a solver reset.
* A thread pool steps contiguous chunks of worlds; each thread owns a copy of the compiled ``MjModel``
  (one model shared by all its worlds, collision geometry included). Model fields that ``mjw_model`` holds per
  world are mirrored into those copies after every model change: a value common to all worlds is written once,
  a value that differs between worlds is patched into the thread's model before that world's step (all array
  fields at once: one float64 scatter into the thread model's buffer per world, see :class:`_PatchPlan`).
  Start-up events (friction, mass, centre of mass, gains) write Newton's model after the solver exists; Newton's
  manager sends their model-change notice at the start of the next physics step, before it steps, so the first
  physics step already runs every world randomised (as on MuJoCo-Warp; ``tests/test_mujoco_cpu.py``). Until then
  the thread models hold the compiled values (hence fewer patched fields logged at creation than after it).
* All substeps of one physics step run inside the threads (``mj_step(nstep=substeps)``); Newton's state
  conversion and FK run once per physics step.
* Contacts: ``update_contacts`` fills Newton's ``Contacts`` from every world's ``MjData.contact`` (shapes, points
  in body frames, normal, 6D force), for contact sensors (:mod:`isaaclab.mujoco_contacts`).

Refused at start-up in one line: Newton's collision pipeline (``use_mujoco_contacts=False``), sleeping, CUDA
devices, and (at the first step) extended state attributes that MuJoCo-Warp computes in its sensor stage
(``body_qdd`` / ``body_parent_f``: IMU and incoming-wrench sensors).
"""

from __future__ import annotations

import copy
import ctypes
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
import warp as wp
from newton.solvers import SolverMuJoCo

from isaaclab.utils import configclass
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg
from isaaclab_newton.physics.mjwarp_manager import NewtonMJWarpManager

from wildrobot_amp_ext.errors import InputError
from wildrobot_amp_ext.isaaclab.mujoco_contacts import fill_newton_contacts
from wildrobot_amp_ext.isaaclab.physics_backends import PHYSICS_BACKENDS

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@configclass
class MujocoCpuSolverCfg(MJWarpSolverCfg):
    """MuJoCo C physics, one ``MjData`` per env world, stepped in parallel threads (CPU only).

    Every ``MJWarpSolverCfg`` field keeps its meaning (njmax, nconmax, iterations, tolerance, integrator, cone...);
    they reach the compiled ``MjModel`` through Newton's conversion."""

    class_type: type | str = "wildrobot_amp_ext.isaaclab.mujoco_cpu:NewtonMujocoCpuManager"
    solver_type: str = "mujoco_cpu"
    #: physics threads; 0 = every core this process may use
    num_threads: int = 0


class UnsupportedPhysicsSetting(InputError):
    """A setting the MuJoCo CPU backend cannot honour: refused at start-up in one line naming it."""

    def __init__(self, setting: str, problem: str, fix: str = "use --physics mujoco-warp"):
        super().__init__(None, setting, f"physics mujoco-cpu: {problem}", fix)


@dataclass
class _WorldViews:
    """numpy views into one world's ``MjData`` (property access on MjData costs ~0.3 us each, so cache them)."""

    data: Any
    ctrl: np.ndarray
    qfrc: np.ndarray
    xfrc: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    qfrc_actuator: np.ndarray


class SolverMujocoCpu(SolverMuJoCo):
    """Newton's MuJoCo solver with the step replaced by one MuJoCo C ``MjData`` per world (see module docstring)."""

    def __init__(self, model, *, num_threads: int = 0, **kwargs: Any):
        for key, bad, why in (
            ("use_mujoco_cpu", True, "Newton's own MuJoCo C path simulates world 0 only"),
            ("use_mujoco_contacts", False, "Newton's collision pipeline is not wired to MuJoCo C"),
            ("enable_sleeping", True, "sleeping is a MuJoCo-Warp feature"),
        ):
            if kwargs.get(key, not bad) == bad:
                raise UnsupportedPhysicsSetting(f"solver_cfg.{key}", f"{bad} is not supported ({why})")
        kwargs.pop("use_mujoco_cpu", None)
        if str(model.device).startswith("cuda"):
            raise UnsupportedPhysicsSetting("--device", f"runs on the CPU, not {model.device}", "use --device cpu")
        self._cpu_ready = False
        super().__init__(model, use_mujoco_cpu=False, separate_worlds=True, **kwargs)
        self._mj = mujoco
        self.nworld = int(self.mjw_data.nworld)
        self.num_threads = max(1, min(int(num_threads) or available_cores(), self.nworld))
        # the compiled template world at float64 (Newton's conversion), and per-thread copies that step the worlds
        self._mj_ref = copy.copy(self.mj_model)
        self._models = [copy.copy(self.mj_model) for _ in range(self.num_threads)]
        self._timestep = None
        self._worlds = [self._make_world(mujoco.MjData(self._models[0])) for _ in range(self.nworld)]
        bounds = np.linspace(0, self.nworld, self.num_threads + 1).astype(int)
        self._chunks = [(int(bounds[i]), int(bounds[i + 1])) for i in range(self.num_threads)]
        self._pool = ThreadPoolExecutor(self.num_threads - 1) if self.num_threads > 1 else None
        # staging (numpy views of Newton's float32 N-world buffers) and float64 step outputs
        d = self.mjw_data
        self._ctrl32 = d.ctrl.numpy()
        self._qfrc32 = d.qfrc_applied.numpy()
        self._xfrc32 = d.xfrc_applied.numpy()
        self._qpos32 = d.qpos.numpy()
        self._qvel32 = d.qvel.numpy()
        self._qpos = np.zeros(self._qpos32.shape)
        self._qvel = np.zeros(self._qvel32.shape)
        self._qfrc_act = np.zeros(self._qvel32.shape)
        self._in: dict[str, np.ndarray | None] = {"ctrl": None, "qfrc": None, "xfrc": None}
        self._forces_were_set = {"qfrc": True, "xfrc": True}
        self._written = np.ones(self.nworld, dtype=bool)  # every world starts from Newton's state
        self._last_q: np.ndarray | None = None
        self._last_qd: np.ndarray | None = None
        self._checked_state = False
        self._world_patches: list[tuple[str, np.ndarray]] = []
        self._patch_plans: list[_PatchPlan | None] = [None] * self.num_threads
        self._cpu_ready = True
        self._sync_models()

    # ------------------------------------------------------------------------------------------------------------
    # set-up helpers
    # ------------------------------------------------------------------------------------------------------------
    @staticmethod
    def _make_world(data) -> _WorldViews:
        return _WorldViews(
            data, data.ctrl, data.qfrc_applied, data.xfrc_applied, data.qpos, data.qvel, data.qfrc_actuator
        )

    def _mirrored_fields(self) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
        """(name, per-world values) of every float model field Newton keeps per world in ``mjw_model`` and MuJoCo C
        has under the same name and shape; and the per-world fields MuJoCo C has no counterpart for."""
        out, unmatched = [], []
        for prefix, src, dst in (
            ("", self.mjw_model, self._mj_ref),
            ("opt.", self.mjw_model.opt, self._mj_ref.opt),
            ("stat.", self.mjw_model.stat, self._mj_ref.stat),
        ):
            for name in getattr(type(src), "__dataclass_fields__", {}):
                arr = getattr(src, name, None)
                if not isinstance(arr, wp.array) or arr.ndim < 1 or arr.shape[0] not in (1, self.nworld):
                    continue
                values = arr.numpy()
                if not np.issubdtype(values.dtype, np.floating) or prefix + name == "opt.timestep":
                    continue
                if prefix + name == "opt.impratio_invsqrt":  # MuJoCo C stores impratio itself
                    out.append(("opt.impratio", 1.0 / np.square(values.astype(np.float64))))
                    continue
                ref = getattr(dst, name, None)
                if ref is None:
                    if arr.shape[0] == self.nworld and self.nworld > 1:
                        unmatched.append(prefix + name)
                    continue
                ref = np.asarray(ref)
                if values.shape[1:] != ref.shape:
                    if values.reshape(values.shape[0], -1).shape[1] != ref.size:
                        if arr.shape[0] == self.nworld and self.nworld > 1:
                            unmatched.append(prefix + name)
                        continue
                    values = values.reshape((values.shape[0], *ref.shape))
                out.append((prefix + name, values))
        return out, unmatched

    @staticmethod
    def _get(model, name: str):
        obj = model
        *path, leaf = name.split(".")
        for p in path:
            obj = getattr(obj, p)
        return obj, leaf

    def _set_field(self, model, name: str, value: np.ndarray) -> None:
        obj, leaf = self._get(model, name)
        current = getattr(obj, leaf)
        if isinstance(current, np.ndarray):
            current[...] = value
        else:  # scalar option (tolerance, impratio, meaninertia)
            setattr(obj, leaf, float(value))

    #: model fields MuJoCo C reads only in mj_setConst / mj_resetData (never called here): Newton writes each
    #: world's origin into them, which is no per-world physics
    _UNUSED_IN_STEP = frozenset({"qpos0"})

    def _unused_in_step(self, fields: list[tuple[str, np.ndarray]]) -> set[str]:
        """Fields this model's step never reads, beyond :attr:`_UNUSED_IN_STEP` (so not patched per world):
        ``qpos_spring`` without joint stiffness in any world (mj_passive skips zero-stiffness joints) and with
        energy off; ``actuator_acc0`` without muscle actuators (only the muscle gain / bias read it)."""
        mj, ref = self._mj, self._mj_ref
        unused = set(self._UNUSED_IN_STEP)
        stiffness = dict(fields).get("jnt_stiffness", ref.jnt_stiffness)
        if not np.any(stiffness) and not ref.opt.enableflags & int(mj.mjtEnableBit.mjENBL_ENERGY):
            unused.add("qpos_spring")
        muscle = np.any(ref.actuator_gaintype == int(mj.mjtGain.mjGAIN_MUSCLE)) or np.any(
            ref.actuator_biastype == int(mj.mjtBias.mjBIAS_MUSCLE)
        )
        if not muscle:
            unused.add("actuator_acc0")
        return unused

    def _sync_models(self) -> None:
        """Mirror Newton's per-world model fields into the thread models (see module docstring)."""
        fields, unmatched = self._mirrored_fields()
        unused = self._unused_in_step(fields)
        patches = []
        for name, values in fields:
            if name in unused:
                continue
            obj, leaf = self._get(self._mj_ref, name)
            ref64 = np.asarray(getattr(obj, leaf), dtype=np.float64)
            # a value Newton did not change keeps its float64 compiled value; a changed one is Newton's float32
            unchanged = values == ref64.astype(values.dtype)
            merged = np.where(unchanged, ref64[None], values.astype(np.float64))
            # values that differ between worlds by float32 rounding only (constants MuJoCo-Warp derived per world,
            # e.g. invweight0 at each world's own origin) are one value
            if np.allclose(merged, merged[:1], rtol=1e-6, atol=1e-12):
                for m in self._models:
                    self._set_field(m, name, merged[0])
            else:
                patches.append((name, merged))
        self._invalidate_inertial_fast_paths(fields)
        varying = []
        for name in unmatched:
            values = self._get(self.mjw_model, name)
            arr = getattr(*values).numpy()
            if not np.all(arr == arr[:1]):
                varying.append(name)
        if varying:
            raise UnsupportedPhysicsSetting(
                "model", f"per-world model field(s) {', '.join(varying)} have no MuJoCo C counterpart"
            )
        self._world_patches = patches
        self._patch_plans = [_PatchPlan.build(m, patches, self._get, self.nworld) for m in self._models]
        if patches:
            logger.info(
                "mujoco-cpu: per-world model fields patched before each world's step: %s", [p[0] for p in patches]
            )

    def _invalidate_inertial_fast_paths(self, fields: list[tuple[str, np.ndarray]]) -> None:
        """MuJoCo C's compiled shortcuts (``body_sameframe``, ``body_simple``, ``dof_simplenum``) describe the
        compiled inertial frames: a body whose inertial frame or inertia changed in any world must not take them
        (MuJoCo-Warp has no such shortcuts; Newton's own CPU path clears them the same way)."""
        changed = np.zeros(self._mj_ref.nbody, dtype=bool)
        for name, values in fields:
            if name in ("body_ipos", "body_iquat", "body_inertia"):
                ref = getattr(self._mj_ref, name)
                changed |= np.any(values != ref.astype(values.dtype)[None], axis=(0, 2))
        if not changed.any():
            return
        for m in self._models:
            m.body_sameframe[changed] = int(self._mj.mjtSameFrame.mjSAMEFRAME_NONE)
            m.body_simple[changed] = 0
            m.dof_simplenum[:] = 0

    # ------------------------------------------------------------------------------------------------------------
    # Newton solver API
    # ------------------------------------------------------------------------------------------------------------
    def notify_model_changed(self, flags) -> None:
        super().notify_model_changed(flags)
        if getattr(self, "_cpu_ready", False):
            self._sync_models()
            if self.mj_model.neq:
                eq_active = self.mjw_data.eq_active.numpy()
                for w, views in enumerate(self._worlds):
                    views.data.eq_active[:] = eq_active[w]

    def get_max_contact_count(self) -> int:
        return int(self.mjw_data.naconmax)

    def reset(self, state, world_mask=None, flags=None) -> None:
        super().reset(state, world_mask=world_mask, flags=flags)
        if not getattr(self, "_cpu_ready", False):
            return
        mask = self._normalize_reset_world_mask(world_mask)
        worlds = np.arange(self.nworld) if mask is None else np.flatnonzero(mask.numpy()[: self.nworld])
        for w in worlds:  # only the reset worlds: warm start and inputs cleared as MuJoCo-Warp does
            d = self._worlds[w].data
            d.qacc_warmstart[:] = 0.0
            d.qfrc_applied[:] = 0.0
            d.xfrc_applied[:] = 0.0
            d.ctrl[:] = 0.0
            d.act[:] = 0.0
        self._written[worlds] = True

    def step(self, state_in, state_out, control, contacts, dt: float) -> None:
        self.step_substeps(state_in, state_out, control, 1, dt)

    def step_substeps(self, state_in, state_out, control, substeps: int, dt: float) -> None:
        """``substeps`` MuJoCo steps of ``dt`` for every world, inputs held (as Newton's substep loop holds them
        when no state-force callback is registered)."""
        if not self._checked_state:
            self._check_state(state_out)
        model = self.model
        self._apply_mjc_control(model, state_in, control, self.mjw_data)
        self._pull_written_state(state_in)
        if dt != self._timestep:
            for m in self._models:
                m.opt.timestep = dt
            self._timestep = dt
        self._stage_inputs()
        want_qfrc_actuator = self._qfrc_actuator_out(state_out) is not None
        self._step_worlds(substeps, want_qfrc_actuator)
        self._qpos32[...] = self._qpos
        self._qvel32[...] = self._qvel
        if want_qfrc_actuator:
            self.mjw_data.qfrc_actuator.numpy()[...] = self._qfrc_act
        self._update_newton_state(model, state_out, self.mjw_data, state_prev=state_in)
        self._last_q = state_out.joint_q.numpy().copy()
        self._last_qd = state_out.joint_qd.numpy().copy()
        self._step += 1

    # ------------------------------------------------------------------------------------------------------------
    # step helpers
    # ------------------------------------------------------------------------------------------------------------
    @staticmethod
    def _qfrc_actuator_out(state):
        return getattr(getattr(state, "mujoco", None), "qfrc_actuator", None)

    def _check_state(self, state) -> None:
        for attr in ("body_qdd", "body_parent_f"):
            if getattr(state, attr, None) is not None:
                raise UnsupportedPhysicsSetting(
                    f"state.{attr}", "an IMU / incoming-wrench sensor's attribute is not supported"
                )
        self._checked_state = True

    def _pull_written_state(self, state) -> None:
        """Re-read qpos/qvel from Newton (float32) for the worlds Isaac Lab wrote since the last step."""
        written = self._written
        q = state.joint_q.numpy().reshape(self.nworld, -1)
        qd = state.joint_qd.numpy().reshape(self.nworld, -1)
        if self._last_q is not None:
            written |= np.any(q != self._last_q.reshape(q.shape), axis=1)
            written |= np.any(qd != self._last_qd.reshape(qd.shape), axis=1)
        else:
            written[:] = True
        if not written.any():
            return
        mask = wp.array(np.append(written, False), dtype=wp.bool, device=self.model.device)
        self._update_mjc_data(self.mjw_data, self.model, state, world_mask=mask)
        for w in np.flatnonzero(written):
            views = self._worlds[w]
            views.qpos[:] = self._qpos32[w]
            views.qvel[:] = self._qvel32[w]
        written[:] = False

    def _stage_inputs(self) -> None:
        """float64 copies of this step's controls; external forces only while some are non-zero."""
        self._in["ctrl"] = self._ctrl32.astype(np.float64)
        for key, src in (("qfrc", self._qfrc32), ("xfrc", self._xfrc32)):
            nonzero = bool(np.any(src))
            # zeros are written once after forces stop, then skipped
            self._in[key] = src.astype(np.float64) if nonzero or self._forces_were_set[key] else None
            self._forces_were_set[key] = nonzero

    def _step_worlds(self, substeps: int, want_qfrc_actuator: bool) -> None:
        """Every world's MuJoCo steps: one contiguous chunk of worlds per thread, the caller's thread included."""
        jobs = [
            (lo, hi, self._models[i], self._patch_plans[i], substeps, want_qfrc_actuator)
            for i, (lo, hi) in enumerate(self._chunks)
        ]
        if self._pool is None:
            self._step_chunk(*jobs[0])
            return
        futures = [self._pool.submit(self._step_chunk, *job) for job in jobs[1:]]
        self._step_chunk(*jobs[0])
        for f in futures:
            f.result()

    def _step_chunk(
        self, lo: int, hi: int, m, plan: _PatchPlan | None, substeps: int, want_qfrc_actuator: bool
    ) -> None:
        step = self._mj.mj_step
        ctrl, qfrc, xfrc = self._in["ctrl"], self._in["qfrc"], self._in["xfrc"]
        qpos, qvel, qfrc_act = self._qpos, self._qvel, self._qfrc_act
        if plan is not None:
            span, index, image, scalars = plan.span, plan.index, plan.image, plan.scalars(m, self._get)
        worlds = self._worlds
        for w in range(lo, hi):
            v = worlds[w]
            if plan is not None:
                span[index] = image[w]  # every per-world array field of this world, one scatter
                for obj, leaf, values in scalars:
                    setattr(obj, leaf, float(values[w]))
            v.ctrl[:] = ctrl[w]
            if qfrc is not None:
                v.qfrc[:] = qfrc[w]
            if xfrc is not None:
                v.xfrc[:] = xfrc[w]
            step(m, v.data, substeps)  # releases the GIL
            qpos[w] = v.qpos
            qvel[w] = v.qvel
            if want_qfrc_actuator:
                qfrc_act[w] = v.qfrc_actuator

    # ------------------------------------------------------------------------------------------------------------
    # contacts
    # ------------------------------------------------------------------------------------------------------------
    def update_contacts(self, contacts, state=None) -> None:
        """Fill Newton's ``contacts`` from every world's ``MjData.contact`` (:mod:`isaaclab.mujoco_contacts`)."""
        worlds = (views.data for views in self._worlds)
        geom_to_shape = self.mjc_geom_to_newton_shape.numpy()
        fill_newton_contacts(contacts, worlds, self._models[0], geom_to_shape, self._mj_ref.geom_bodyid)

    def solver_niter(self) -> np.ndarray:
        """Solver iterations of each world's last step (MuJoCo C's ``solver_niter``)."""
        return np.array([v.data.solver_niter[0] for v in self._worlds])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
        parent_del = getattr(super(), "__del__", None)
        if parent_del is not None:
            parent_del()


@dataclass
class _PatchPlan:
    """The per-world model patches of one thread model as one scatter: ``span`` is a float64 view of the model's
    buffer from its first to its last patched array field, ``index`` the patched elements in it, ``image[w]``
    world w's values in that order. Per world and physics step that is one numpy call instead of one per field
    (13 randomised fields on the G1-23: the per-world Python took 13 % of the physics threads' time). Scalar
    options (``stat.meaninertia``) stay attribute writes."""

    span: np.ndarray
    index: np.ndarray
    image: np.ndarray
    scalar_names: list[tuple[str, np.ndarray]]

    @classmethod
    def build(cls, model, patches: list[tuple[str, np.ndarray]], get, nworld: int) -> _PatchPlan | None:
        arrays, scalars = [], []
        for name, values in patches:
            obj, leaf = get(model, name)
            field = getattr(obj, leaf)
            if isinstance(field, np.ndarray):
                arrays.append((field, values))
            else:
                scalars.append((name, values))
        if not patches:
            return None
        ok = all(f.dtype == np.float64 and f.flags.c_contiguous and _address(f) % 8 == 0 for f, _ in arrays)
        if not ok:  # MuJoCo's model fields are float64 C arrays; anything else would be a surprise: refuse loudly
            raise RuntimeError("mujoco-cpu: a patched MjModel field is not a contiguous float64 array")
        if arrays:
            lo = min(_address(f) for f, _ in arrays)
            hi = max(_address(f) + f.nbytes for f, _ in arrays)
            # a view of the model's own memory (MjModel keeps every array in one buffer): kept only as long as the
            # thread model it belongs to (the solver owns both)
            span = np.ctypeslib.as_array((ctypes.c_double * ((hi - lo) // 8)).from_address(lo))
            index = np.concatenate([(_address(f) - lo) // 8 + np.arange(f.size) for f, _ in arrays])
            image = np.ascontiguousarray(np.concatenate([v.reshape(nworld, -1) for _, v in arrays], axis=1))
        else:
            span, index, image = np.zeros(0), np.zeros(0, np.int64), np.zeros((nworld, 0))
        return cls(span, index, image, scalars)

    def scalars(self, model, get) -> list[tuple[Any, str, np.ndarray]]:
        """(object, attribute, per-world values) of the scalar patches, on ``model`` (resolved once per chunk)."""
        return [(*get(model, name), values) for name, values in self.scalar_names]


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


class NewtonMujocoCpuManager(NewtonMJWarpManager):
    """Isaac Lab's MuJoCo-Warp manager with :class:`SolverMujocoCpu` as its solver (substeps batched per thread).

    The name must start with "Newton": Isaac Lab picks the asset backend from the manager's class name."""

    @classmethod
    def _create_solver(cls, model, solver_cfg: MujocoCpuSolverCfg) -> SolverMujocoCpu:
        sensor_stage = {"body_qdd", "body_parent_f"} & set(getattr(cls, "_active_extended_state_attributes", ()))
        if sensor_stage:  # MuJoCo-Warp fills them in its sensor stage; the mujoco-cpu step does not
            raise UnsupportedPhysicsSetting(
                f"state.{sorted(sensor_stage)[0]}", "IMU / incoming-wrench sensor attributes are not supported"
            )
        kwargs = cls._filter_solver_kwargs(SolverMuJoCo, solver_cfg)
        kwargs.pop("ls_parallel", None)
        kwargs.pop("deterministic", None)  # MuJoCo C is reproducible; Warp's modes do not reach it
        return SolverMujocoCpu(model, num_threads=getattr(solver_cfg, "num_threads", 0), **kwargs)

    @classmethod
    def _reset_solver_internals(cls, world_mask) -> None:
        if world_mask is None:
            return
        cls._solver.reset(cls.backend.state_0, world_mask=world_mask, flags=0)

    @classmethod
    def _run_solver_substeps(cls, contacts) -> None:
        # Newton re-applies the staged body forces and state-force callbacks before every substep; with no
        # callback they are the same every substep, so all substeps run inside the physics threads at once
        if not cls._use_single_state or cls._state_force_callbacks or not isinstance(cls._solver, SolverMujocoCpu):
            return super()._run_solver_substeps(contacts)
        state = cls.backend.state_0
        cls._apply_staged_body_forces(state)
        cls._solver.step_substeps(state, state, cls.backend.control, cls._num_substeps, cls._solver_dt)
        state.clear_forces()

    @classmethod
    def _log_solver_debug(cls) -> None:
        cfg = cls._cfg
        if cfg is not None and cfg.debug_mode:
            niter = cls._solver.solver_niter()
            logger.info("MuJoCo C solver iterations: max %d mean %.1f", niter.max(), niter.mean())

    @classmethod
    def _solver_specific_clear(cls) -> None:
        solver = cls._solver
        if isinstance(solver, SolverMujocoCpu):
            solver.close()
        super()._solver_specific_clear()


def physics_cfg(backend: str, base):
    """``base`` (Isaac Lab's ``NewtonCfg``) with the solver config of ``backend`` (one of :data:`PHYSICS_BACKENDS`);
    the MJWarp solver settings (njmax, nconmax, ...) and substeps carry over."""
    if backend not in PHYSICS_BACKENDS:
        raise ValueError(f"unknown physics backend '{backend}' (one of {', '.join(PHYSICS_BACKENDS)})")
    solver = base.solver_cfg
    fields = {
        k: getattr(solver, k) for k in MJWarpSolverCfg.__dataclass_fields__ if k not in ("class_type", "solver_type")
    }
    new_solver = MujocoCpuSolverCfg(**fields) if backend == "mujoco-cpu" else MJWarpSolverCfg(**fields)
    if backend == "mujoco-cpu" and isinstance(solver, MujocoCpuSolverCfg):
        new_solver.num_threads = solver.num_threads
    kwargs = {k: getattr(base, k) for k in NewtonCfg.__dataclass_fields__ if k not in ("class_type", "solver_cfg")}
    if backend == "mujoco-cpu":
        kwargs["use_cuda_graph"] = False
    return NewtonCfg(solver_cfg=new_solver, **kwargs)


def backend_of(physics) -> str:
    """The :data:`PHYSICS_BACKENDS` name of a ``NewtonCfg``."""
    return "mujoco-cpu" if isinstance(getattr(physics, "solver_cfg", None), MujocoCpuSolverCfg) else "mujoco-warp"
