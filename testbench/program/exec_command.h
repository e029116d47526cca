// `iommusim exec`: runs an unmodified program on the model under libiommusim-preload.so.
#pragma once

#include "program/cli_options.h"

namespace iommusim::program {

// Checks the configuration and outputs (as a scenario run does, before anything runs), starts
// opts.exec_args with LD_PRELOAD and the configuration in its environment (preload/exec_session.h),
// and waits for it. Returns its exit status, 128+N when signal N ended it, 127 when it could not be
// started, 2 on a bad configuration or output path.
int exec_program(const cli_options& opts);

}  // namespace iommusim::program
