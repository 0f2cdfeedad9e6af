"""Every Python snippet of the README's "Use it with ..." section runs as written."""

import importlib.util
import re

import pytest


def _snippets(repo_root):
    text = (repo_root / "README.md").read_text()
    section = text.split("## Use it with ...\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_has_the_four_snippets(repo_root):
    blocks = _snippets(repo_root)
    assert len(blocks) == 4
    assert "stable_baselines3" in blocks[0] and "torchrl" in blocks[1]
    assert "torch.from_numpy" in blocks[2] and "gymnasium.wrappers" in blocks[3]


@pytest.mark.parametrize("index", range(4))
def test_readme_snippet_runs(repo_root, index):
    import multiprocessing as mp

    code = _snippets(repo_root)[index]
    for lib in ("stable_baselines3", "torchrl", "torch"):
        if re.search(rf"^\s*(from|import) {lib}\b", code, re.M) and importlib.util.find_spec(lib) is None:
            pytest.skip(f"{lib} is not installed (optional extra)")
    before = mp.get_start_method(allow_none=True)
    try:
        exec(compile(code, f"README.md snippet {index}", "exec"), {"__name__": "__readme__"})
    finally:
        mp.set_start_method(before, force=True)  # the torchrl snippet's import switches it
