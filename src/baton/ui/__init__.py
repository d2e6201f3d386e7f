"""The Baton dashboard: server-rendered pages over the same store and event stream as the
CLI and the API. ``baton ui`` serves it alone on 127.0.0.1; ``baton serve`` mounts it at ``/``.

Nothing here is imported by the engine or by ``baton run``: the CLI imports
:mod:`baton.ui.server` only inside the ``baton ui`` command.
"""
