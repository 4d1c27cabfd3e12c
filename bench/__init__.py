"""om-graph benchmark suite: ``python -m bench.run [names...] [--size tiny|small|full]``.

Each benchmark is a module with ``run(size, workdir) -> list[Result]``; shared helpers live in
:mod:`bench.common`; load comes from :mod:`bench.load` running as a separate process.
"""
