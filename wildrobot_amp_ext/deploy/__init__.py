"""The policy room: a trained checkpoint turned into networks once (:mod:`.checkpoint` reads it, :mod:`.policy` is the
one loader that export, play, evaluation and sim2sim use), exported (:mod:`.export`: ONNX + TorchScript + parity
check), and what a robot needs to run it: the observation table (:mod:`.observations`), the deploy bundle
(``deploy.yaml`` + ONNX metadata, :mod:`.bundle`), a robot-side runner that reads only the bundle (:mod:`.runner`)
and that runner on a MuJoCo model of the robot (:mod:`.sim2sim`)."""
