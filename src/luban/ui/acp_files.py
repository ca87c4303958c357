"""The file tools' reads and writes through the editor (ACP fs/read_text_file, fs/write_text_file), so the agent
sees unsaved buffers and its edits show in the editor. The boundary on disk still decides what may be touched:
a read is opened there first (links out, hard links and paths outside are refused as always), and a write is made
there first (atomic, protected folders refused) before the editor is given the same text."""

from __future__ import annotations

import contextlib
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..workspace.boundary import FileBoundary, Place, Written

ReadText = Callable[[Path], str]
WriteText = Callable[[Path, str], None]


@dataclass(frozen=True)
class EditorFiles:
    disk: FileBoundary
    read_text: ReadText | None  # None where the client does not offer fs/read_text_file
    write_text: WriteText | None

    def place(self, path: str) -> Place:
        return self.disk.place(path)

    def stat(self, place: Place):
        return self.disk.stat(place)

    @contextlib.contextmanager
    def folder(self, place: Place) -> Iterator[int]:
        with self.disk.folder(place) as fd:
            yield fd

    def open_read(self, place: Place) -> BinaryIO:
        on_disk = self.disk.open_read(place)
        if self.read_text is None or place.base != self.disk.root:  # saved tool outputs are Luban's own files
            return on_disk
        on_disk.close()
        text = self.read_text(_path(place))
        # A real file, not a BytesIO: grep hands it to ripgrep as its stdin.
        copy = tempfile.TemporaryFile()
        copy.write(text.encode("utf-8", errors="surrogateescape"))
        copy.seek(0)
        return copy

    def write(self, place: Place, data: bytes) -> Written:
        written = self.disk.write(place, data)
        if self.write_text is not None:
            self.write_text(_path(place), data.decode("utf-8", errors="surrogateescape"))
        return written


def _path(place: Place) -> Path:
    return place.base / posixpath.normpath(place.rel)
