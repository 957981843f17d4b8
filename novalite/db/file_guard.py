# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Notice when the SQLite file under a running service goes away.

A pooled SQLite connection keeps its file open: delete or replace the
file and every write still "succeeds", into the unlinked inode, while the
new file stays empty (``compute_nodes`` and the task statistics silently
empty); truncate it and the next writer finds an empty file. The guard
remembers which file the engine opened and says when that is no longer
the file at its path.
"""

import os
import time


class FileGuard:
    """Watches the SQLite file of ``engine``; a no-op for a server."""

    def __init__(self, engine):
        url = engine.url
        self.path = None
        if url.get_backend_name() == "sqlite" and url.database not in (
                None, "", ":memory:"):
            self.path = os.path.abspath(url.database)
        self._identity = None
        self._size = 0
        self.remember()

    def _stat(self):
        """The file's stat; None if it is gone; raises another OSError."""
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            return None

    def remember(self):
        """Take the file now at the path as the one in use."""
        if self.path is None:
            return
        found = self._stat()
        self._identity = None if found is None else (
            found.st_dev, found.st_ino)
        self._size = 0 if found is None else found.st_size

    def set_aside(self, what):
        """Take the lost file's remains away from its path, before the
        connections to it are closed: a truncated file is renamed (the
        connections' last checkpoint then goes into it, not into the path),
        and the journal (``-wal``, ``-shm``) is removed, which replayed
        onto a new file would corrupt it.

        :returns: where a truncated file went, or None.
        """
        moved = None
        if what.startswith("truncated"):
            moved = "%s.truncated-%d" % (self.path, int(time.time()))
            try:
                os.rename(self.path, moved)
            except FileNotFoundError:
                moved = None
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass
        return moved

    def changed(self):
        """What happened to the file in use, or None if nothing did:
        'deleted', 'replaced by another file' or 'truncated'.

        novalite's SQLite file never shrinks (no VACUUM, no auto-vacuum),
        so a smaller file is one that was cut, even if SQLite has written
        a few pages into it again since."""
        if self.path is None or self._identity is None:
            return None
        try:
            found = self._stat()
        except OSError:
            return None  # cannot tell (a permission lost, say): no action
        if found is None:
            return "deleted"
        if (found.st_dev, found.st_ino) != self._identity:
            return "replaced by another file"
        if found.st_size < self._size:
            return "truncated (%d bytes, was %d)" % (found.st_size,
                                                     self._size)
        self._size = found.st_size
        return None
