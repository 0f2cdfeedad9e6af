import numpy as np
import numpy.typing as npt

def supported(stepper: object) -> bool: ...
def state(stepper: object, positions: npt.NDArray[np.float64] | None = None,
          ticks: npt.NDArray[np.uint64] | None = None,
          inventories: npt.NDArray[np.uint16] | None = None) -> bool: ...
def streams(stepper: object) -> npt.NDArray[np.uint64] | None: ...
def episode(rewards: npt.NDArray[np.float32], terminated: npt.NDArray[np.bool_],
            truncated: npt.NDArray[np.bool_], ret: npt.NDArray[np.float64],
            length: npt.NDArray[np.int64], t0: npt.NDArray[np.float64],
            done_before: npt.NDArray[np.bool_], now: float, next_step: bool
            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                       npt.NDArray[np.bool_]] | None: ...

class SameStepBatch:
    def __init__(self, stepper: object, features: str | None, obs: npt.NDArray[np.uint8],
                 final_obs: npt.NDArray[np.uint8], rewards: npt.NDArray[np.float32],
                 terminated: npt.NDArray[np.bool_], truncated: npt.NDArray[np.bool_],
                 final_mask: npt.NDArray[np.bool_], dones: npt.NDArray[np.bool_],
                 feat: npt.NDArray[np.float32], final_feat: npt.NDArray[np.float32],
                 ret: npt.NDArray[np.float64], length: npt.NDArray[np.int64]) -> None: ...
    def step(self, actions: npt.NDArray[np.int64]) -> int: ...
