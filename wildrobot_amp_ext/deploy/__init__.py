"""What a robot needs to run an exported policy: the observation table (:mod:`.observations`), the deploy bundle
(``deploy.yaml`` + ONNX metadata, :mod:`.bundle`) and a robot-side runner that reads only the bundle
(:mod:`.runner`)."""
