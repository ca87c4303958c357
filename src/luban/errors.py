"""The exception tree. Each carries one sentence for the user; bugs are not caught here.

    LubanError                    user-facing failure, printed as one sentence, exit 1
    ├── ConfigError               bad settings, config file, flag value (exit 2 from the CLI)
    ├── WorkspaceError            workspace missing, path outside it
    ├── ModelError                anything between us and the model server
    │   ├── ModelUnavailable      cannot connect / server died / missing model files
    │   │   └── ReplyBroken       the reply broke off mid-stream (sent again, a bounded number of times)
    │   ├── ModelTimeout          no first token or no progress within the limit
    │   ├── ModelProtocolError    the server sent something we cannot read
    │   └── ModelRejected         the server answered 4xx to our request
    │       └── ContextOverflow   …as longer than its context window (compacted, then sent once more)
    ├── SessionError              transcript missing, locked or unreadable
    │   └── SessionUnwritable     the transcript cannot be written (disk full, quota, read-only); what it holds is kept
    ├── SandboxUnavailable        no sandbox for commands works here, and running unconfined is not allowed
    ├── TuneError                 a dataset, training run or adapter that cannot be built or used
    ├── Cancelled                 the user or a driver cancelled the request
    └── TimeUp                    max_wall_s (or a driver's cap) ran out in the middle of a step

    PathRefused                   a path the agent may not use: it leads outside the workspace (.., an absolute
                                  path, a symlink), it is a hard link, or it lies in .git or .luban. One sentence for
                                  the model, which can fix its call; the file tools return it as an error result.
"""


class LubanError(Exception):
    """A failure the user can act on; str() is the one sentence we show."""

    status = "error"  # how a run that this ends reports it in its Outcome


class ConfigError(LubanError):
    pass


class WorkspaceError(LubanError):
    pass


class ModelError(LubanError):
    pass


class ModelUnavailable(ModelError):
    pass


class ReplyBroken(ModelUnavailable):
    """The connection broke or the stream ended before the reply finished; nothing of the reply was used."""


class ModelTimeout(ModelError):
    pass


class ModelProtocolError(ModelError):
    pass


class ModelRejected(ModelError):
    pass


class ContextOverflow(ModelRejected):
    """The server refused the request as longer than its context window, whatever our own count said."""


class SessionError(LubanError):
    pass


class SessionUnwritable(SessionError):
    pass


class SandboxUnavailable(LubanError):
    pass


class TuneError(LubanError):
    pass


class Cancelled(LubanError):
    pass


class TimeUp(LubanError):
    """max_wall_s ran out in the middle of a step (a model request, compaction, candidate edits), or a driver whose
    wall-clock cap ran out threw it into the run; the run ends as max_time."""

    status = "max_time"


class PathRefused(Exception):
    """A path the agent may not use (see the tree above); not a LubanError: it never ends a run."""
