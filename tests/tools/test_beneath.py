"""The two resolvers behind the file tools, side by side: what opens beneath a folder and what is refused."""

import errno
import os
import sys

import pytest

from luban.errors import PathRefused
from luban.workspace.resolver import Openat2, Walk, default_resolver

NATIVE = default_resolver()
RESOLVERS = [
    pytest.param(
        NATIVE,
        id="openat2",
        marks=pytest.mark.skipif(not isinstance(NATIVE, Openat2), reason="this kernel does not answer openat2"),
    ),
    pytest.param(Walk(), id="walk"),
]


@pytest.fixture(params=RESOLVERS)
def resolver(request):
    return request.param


@pytest.fixture
def tree(tmp_path):
    """root/ with a file, a folder, in-tree symlinks and ones that lead out; outside/ beside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    root = tmp_path / "root"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "a.py").write_text("a = 1\n")
    (root / "top.txt").write_text("top\n")
    (root / "alias.py").symlink_to("src/pkg/a.py")
    (root / "pkg").symlink_to("src/pkg")
    (root / "src" / "back").symlink_to("../top.txt")
    (root / "absolute-inside").symlink_to(root / "top.txt")
    (root / "up").symlink_to("..")
    (root / "out").symlink_to(outside)
    (root / "sneaky").symlink_to("src/../../outside/secret.txt")
    (root / "etc").symlink_to("/etc")
    (root / "loop").symlink_to("loop")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def read(resolver, root_fd, path):
    fd = resolver(root_fd, path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read().decode()


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("top.txt", "top\n"),
        ("src/pkg/a.py", "a = 1\n"),
        ("alias.py", "a = 1\n"),
        ("pkg/a.py", "a = 1\n"),
        ("src/back", "top\n"),
        ("src/../top.txt", "top\n"),
        ("./src/./pkg//a.py", "a = 1\n"),
        ("pkg/../../top.txt", "top\n"),  # '..' after a symlink goes up from where the symlink led, as the kernel does
    ],
)
def test_paths_and_symlinks_that_stay_beneath_open(resolver, tree, path, text):
    assert read(resolver, tree, path) == text


@pytest.mark.parametrize(
    "path",
    ["..", "../outside/secret.txt", "src/../../outside/secret.txt", "/etc/hostname", "up/outside/secret.txt",
     "out/secret.txt", "sneaky", "etc/hostname", "absolute-inside"],
)
def test_paths_that_leave_are_refused(resolver, tree, path):
    # An absolute symlink never counts as beneath, even one that points back inside (as RESOLVE_BENEATH has it).
    with pytest.raises(PathRefused):
        resolver(tree, path, os.O_RDONLY)


def test_a_folder_reached_through_dot_dot_or_a_symlink_opens_as_a_folder(resolver, tree):
    fds = [resolver(tree, path, os.O_RDONLY | os.O_DIRECTORY) for path in ("src/..", "pkg", "src/pkg/..")]
    try:
        listed = [sorted(os.listdir(fd))[:2] for fd in fds]
        assert listed == [["absolute-inside", "alias.py"], ["a.py"], ["back", "pkg"]]
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize(
    ("path", "error"),
    [("missing.txt", FileNotFoundError), ("src/missing/a.py", FileNotFoundError), ("top.txt/x", NotADirectoryError)],
)
def test_missing_paths_fail_as_open_does(resolver, tree, path, error):
    with pytest.raises(error):
        resolver(tree, path, os.O_RDONLY)


def test_a_symlink_loop_fails_with_eloop(resolver, tree):
    with pytest.raises(OSError) as caught:
        resolver(tree, "loop", os.O_RDONLY)
    assert caught.value.errno == errno.ELOOP


def test_creating_through_a_symlink_that_stays_creates_beneath_and_one_that_leaves_nothing(resolver, tree, tmp_path):
    (tmp_path / "root" / "new-link").symlink_to("src/new.txt")
    os.close(resolver(tree, "new-link", os.O_WRONLY | os.O_CREAT, 0o600))
    with pytest.raises(PathRefused):
        resolver(tree, "out/planted.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    assert ((tmp_path / "root" / "src" / "new.txt").exists(), sorted(os.listdir(tmp_path / "outside"))) == (
        True,
        ["secret.txt"],
    )


def test_magic_links_in_proc_do_not_count_as_beneath(resolver):
    # /proc/self/root is a "magic" link that jumps to the process's root whatever the walk so far.
    root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises((PathRefused, OSError)) as caught:
            os.close(resolver(root, "proc/self/root/etc", os.O_RDONLY | os.O_DIRECTORY))
    finally:
        os.close(root)
    # openat2 refuses the magic link itself (ELOOP); the walk reads its target "/" and refuses an absolute link.
    assert caught.type is PathRefused or caught.value.errno == errno.ELOOP


def test_the_default_resolver_is_the_same_object_each_time_and_opens_beneath(tree):
    assert (default_resolver() is default_resolver(), read(default_resolver(), tree, "pkg/a.py")) == (True, "a = 1\n")


@pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"), reason="437 is openat2 only here"
)
def test_openat2_is_chosen_wherever_the_kernel_answers_it():
    root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.close(Openat2(437)(root, "etc", os.O_RDONLY))
        answers = True
    except OSError:  # an old kernel, or a seccomp filter that refuses it
        answers = False
    finally:
        os.close(root)
    assert isinstance(default_resolver(), Openat2) is answers
