"""Push of job results over an API Gateway WebSocket (WebSocketNotifier's functions).

``routes`` (the socket function) serves the four routes (``$connect``, ``$disconnect``, ``subscribe``, ``$default``)
through ``connect``, ``disconnect``, ``subscribe`` and ``default``; ``park`` and ``notify`` are
the two Step Functions tasks of the callback. ``protocol`` holds the pure parts (frames, tokens,
answers), ``store`` the two tables.
"""
