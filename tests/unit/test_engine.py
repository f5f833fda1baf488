"""The render engine's one reach into copier's internals."""

from copier._main import Worker

from uowgen._render.engine import _ScratchWorker


def test_the_render_skips_only_copiers_per_file_git_call() -> None:
    """The engine overrides one private method of the pinned copier: if an upgrade
    renames it, this fails instead of the renders silently slowing down again."""
    assert callable(Worker._sync_git_index_executable_bit)
    assert "_sync_git_index_executable_bit" in vars(_ScratchWorker)
