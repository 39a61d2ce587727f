"""Push of job results over an API Gateway WebSocket (WebSocketNotifier's functions).

``routes`` (the socket function) serves the four routes (``$connect``, ``$disconnect``, ``subscribe``, ``$default``)
through ``connect``, ``disconnect``, ``subscribe`` and ``default``; ``notify`` is the Step
Functions task that tells a job's subscribers it ended, after its status is recorded.
``protocol`` holds the pure parts (frames, tokens, answers), ``message`` what a subscriber is
told, ``store`` the two tables.
"""
