"""The channel layer the editor's progress events travel on: channels_redis, with timeouts that agree.

An idle websocket waits for its next event in a blocking pop on Redis (BZPOPMIN) that channels_redis
ends every `brpop_timeout` (5 s) seconds to loop again, while redis-py gives up on a socket read
after `socket_timeout` (5 s by default since redis-py 6). The two raced: an idle tab's wait ended
in `TimeoutError` every 5 s, which dropped the socket and logged a traceback. Here one setting,
`read_timeout`, is the socket timeout and the blocking pop asks Redis to answer within half of it,
so waiting is never an error and a Redis that really stops answering still is.
"""

from channels_redis.core import RedisChannelLayer


class EditorChannelLayer(RedisChannelLayer):
    def __init__(self, *, hosts: list, read_timeout: float, **config) -> None:
        super().__init__(hosts=[_with_timeout(host, read_timeout) for host in hosts], **config)
        self.brpop_timeout = read_timeout / 2  # Redis ≥ 6 takes a fractional blocking timeout


def _with_timeout(host: str | dict, read_timeout: float) -> dict:
    host = {"address": host} if isinstance(host, str) else dict(host)
    return {"socket_timeout": read_timeout, "socket_connect_timeout": read_timeout, **host}
