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
"""A loopback TCP proxy the test can cut and restore."""

import socket
import threading


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``cut()`` drops every
    connection and refuses new ones until ``restore()``; ``silence()``
    keeps every connection open but passes no byte (a server that hangs,
    or a network that drops everything) until ``restore()``."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.silent = False
        self._lock = threading.Lock()
        self._sockets = set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)  # the 5 s were for connecting only
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink),
                                 daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._forward(data, sink)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _forward(self, data, sink):
        if not self.silent:
            sink.sendall(data)

    def _drop(self, *sockets):
        with self._lock:
            for sock in sockets:
                self._sockets.discard(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self):
        self.open = False
        with self._lock:
            live = list(self._sockets)
        self._drop(*live)

    def silence(self):
        self.silent = True

    def restore(self):
        self.silent = False
        self.open = True

    def close(self):
        self._closed = True
        self.cut()
        self.listener.close()
