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

    def or_abort(self, x: npt.ArrayLike) -> np.ndarray | None:
        """The output for one input, or None where the interpreter aborts the process
        (its int8 softmax does when a sum of exponentials reaches 2^9: docs/cnn.md). The
        interpreter runs in a forked child, so the abort ends the child only."""
        import os
        import signal

        if not hasattr(os, "fork"):  # Windows: no child to abort in; runs here
            return self(x)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, send the output's bytes, leave without cleanup
            code = 1
            try:
                import faulthandler
                faulthandler.disable()  # the abort is an answer here, not a crash to report
                os.close(read_end)
                y = self(x)
                with os.fdopen(write_end, "wb") as f:
                    f.write(y.tobytes())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGABRT:
            return None
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            raise RuntimeError(f"the TFLite interpreter's child process ended with status {status}")
        return np.frombuffer(data, dtype=self.out["dtype"]).reshape(self.out["shape"])
