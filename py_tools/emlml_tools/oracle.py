"""The oracle for int8 CNNs: TensorFlow Lite's interpreter with its *reference* kernels
(``OpResolverType.BUILTIN_REF``). The default, optimized resolver is not the oracle: its
int8 softmax differs (docs/cnn.md)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.errors import require


class Oracle:
    """One interpreter for many inputs (allocating is the slow part)."""

    def __init__(self, model: bytes) -> None:
        interpreter = require("ai_edge_litert.interpreter", "ai-edge-litert",
                              "run TensorFlow Lite's reference kernels")
        self.interp = interpreter.Interpreter(
            model_content=model,
            experimental_op_resolver_type=interpreter.OpResolverType.BUILTIN_REF)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]

    def __call__(self, x: npt.ArrayLike) -> np.ndarray:
        """The output for one input, ``x`` reshaped to the input shape and cast to its dtype."""
        self.interp.set_tensor(self.inp["index"], np.asarray(x).astype(
            self.inp["dtype"]).reshape(self.inp["shape"]))
        self.interp.invoke()
        return np.array(self.interp.get_tensor(self.out["index"]))
