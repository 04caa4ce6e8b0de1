"""The board side of the tools: ``transport`` (reaching a board), ``install`` (the native
module that matches it), ``deploy`` (a model, replaced safely), ``firmware`` (building
MicroPython with emlml inside), ``flash``, ``romfs`` (models used from flash) and ``mip``
(packages for ``mpremote mip install``).

The names of the transports and the .mpy checks are here too; ``install.install`` and
``deploy.deploy`` are in their modules (a package attribute of the same name would hide the
module)."""

from emlml_tools.board.install import (  # noqa: F401
                                       ARCH_CODES,
                                       BUILD_FOR_ARCH,
                                       HARD_FLOAT,
                                       MPY_SUB_VERSION,
                                       MPY_VERSION,
                                       THUMB,
                                       check_board,
                                       check_mpy,
                                       choose_mpy,
                                       mpy_arch,
)
from emlml_tools.board.transport import (  # noqa: F401
                                       ARCHS,
                                       BoardError,
                                       BoardInfo,
                                       LocalTransport,
                                       MpremoteTransport,
                                       Transport,
                                       board_info,
                                       micropython_command,
)
