"""Z-Wave test peer: the real zwave-js server (@zwave-js/server) on a simulated controller and nodes.

Needs Node 20+ and ``npm ci --prefix tests/peers/zwave`` (done by the Makefile, never by the tests).

    peer = await ZwavePeer.start(tmp_path)         # ws server on peer.ws_url; nodes from nodes.json
    ... zwave-js-server-python Client(peer.ws_url, session) ...
    await peer.report(2, "binary_switch", True); await peer.set_dead(5); await peer.wake(8)
    await peer.received(2); await peer.kill_server(); await peer.start_server(); await peer.stop()
"""

from tests.peers.zwave.harness import DEFAULT_NODES, INSTALL_HINT, ZwavePeer

__all__ = ["DEFAULT_NODES", "INSTALL_HINT", "ZwavePeer"]
