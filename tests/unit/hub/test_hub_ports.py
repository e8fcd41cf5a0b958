"""Local servers' ports: two servers can never be given the same port."""

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.ports import NoFreePort, PortAllocator


def free_range(size=64):
    """A range of ports whose first port is free right now (good enough for a test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        start = probe.getsockname()[1]
    start = min(start, 65535 - size)
    return start, start + size - 1


def test_concurrent_allocations_never_share_a_port():
    allocator = PortAllocator(*free_range(400))
    owners = [f"user{i}" for i in range(300)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        ports = list(pool.map(lambda owner: allocator.allocate(owner, hint=7), owners))
    assert len(set(ports)) == len(owners)
    assert all(allocator.owner(port) == owner for port, owner in zip(ports, owners, strict=True))


def test_same_owner_gets_its_own_port_back():
    allocator = PortAllocator(*free_range())
    assert allocator.allocate("alice", hint=3) == allocator.allocate("alice", hint=40)


def test_preferred_port_follows_the_hint():
    start, end = free_range()
    allocator = PortAllocator(start, end)
    port = allocator.allocate("alice", hint=5)
    assert start <= port <= end


def test_a_port_something_else_listens_on_is_skipped():
    start, end = free_range(8)
    allocator = PortAllocator(start, end)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", start))
        squatter.listen()
        assert allocator.allocate("alice", hint=0) != start


def test_released_port_can_go_to_someone_else():
    start, _ = free_range(1)
    allocator = PortAllocator(start, start)
    assert allocator.allocate("alice") == start
    with pytest.raises(NoFreePort):
        allocator.allocate("bob")
    allocator.release("alice")
    assert allocator.allocate("bob") == start


def test_restored_server_claims_its_port_and_blocks_others():
    start, end = free_range()
    allocator = PortAllocator(start, end)
    assert allocator.claim("alice", start + 3)
    assert not allocator.claim("bob", start + 3)
    assert allocator.allocate("bob", hint=3) != start + 3
