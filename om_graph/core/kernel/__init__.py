"""The shared kernel: database and unit of work, events and their store, errors, ids, the
state-machine machinery, the ports to jobs and live events, and core metrics. Imports no context."""
