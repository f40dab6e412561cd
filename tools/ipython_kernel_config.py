# Kernel settings for executing and testing the chapters (`make execute`, `make test`).
#
# TensorFlow's C++ runtime writes log lines straight to file descriptor 2 when it is
# imported (oneDNN and CUDA notices), and TF_CPP_MIN_LOG_LEVEL no longer silences them
# (tensorflow/tensorflow#100442). By default ipykernel forwards that file descriptor into
# the notebook, where the lines would be stored and compared by nbval. With this setting
# they go to the kernel's own stderr instead; Python's warnings and prints are unaffected.
c = get_config()  # noqa: F821
c.IPKernelApp.capture_fd_output = False

# `make test` runs two kernels at once (two pytest-xdist workers) with the same IPYTHONDIR;
# without this they would share one history database, whose "database is locked" errors
# can be printed into a cell's output. Executed notebooks need no input history.
c.HistoryManager.enabled = False
